"""Text for PDF pages that have none (scans): pages drawn by pdfium, read by RapidOCR's ONNX models.

Both come with the optional extra `ocr` (`pip install -e '.[ocr]'`); RapidOCR's models ship inside its wheel, so
nothing is downloaded at run time. Why RapidOCR and not Tesseract: `python bench/ocr.py` (docs/figures.md).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator

import numpy as np

EXTRA = "pip install 'minsheng-qa[ocr]'"
DPI = 200  # scans' small print (footnotes, 小五号) stays legible; 300 reads no better and takes 2× longer


def available() -> bool:
    """Whether OCR can run here (the `ocr` extra is installed)."""
    try:
        import pypdfium2  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def read_pages(data: bytes, pages: list[int], dpi: int = DPI) -> Iterator[tuple[int, str]]:
    """(page number from 0, recognised text) for each of `pages` of the PDF `data`, one line per text line."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        for n in pages:
            image = pdf[n].render(scale=dpi / 72).to_pil().convert("RGB")
            yield n, read_image(np.asarray(image))
    finally:
        pdf.close()


def read_image(image: np.ndarray) -> str:
    """The text of one page image (H × W × 3, uint8): its lines top to bottom, each line's boxes left to right."""
    result, _ = _engine()(image)
    boxes = [(np.asarray(box, dtype=float), text) for box, text, _score in result or []]
    lines: list[list[tuple[float, str]]] = []
    last_bottom = None
    for box, text in sorted(boxes, key=lambda b: (b[0][:, 1].mean(), b[0][:, 0].min())):
        bottom, middle = box[:, 1].max(), box[:, 1].mean()
        if lines and last_bottom is not None and middle < last_bottom:  # beside the previous box, not below it
            lines[-1].append((box[:, 0].min(), text))
            last_bottom = max(last_bottom, bottom)
        else:
            lines.append([(box[:, 0].min(), text)])
            last_bottom = bottom
    return "\n".join("".join(t for _, t in sorted(line)) for line in lines)


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()
