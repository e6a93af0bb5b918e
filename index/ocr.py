"""Text for PDF pages that have none (scans): pages drawn by pdfium, read by RapidOCR's ONNX models.

Both come with the optional extra `ocr` (`pip install -e '.[ocr]'`); RapidOCR's models ship inside its wheel, so
nothing is downloaded at run time. Why RapidOCR and not Tesseract: `python -m bench.ocr` (docs/figures.md).
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterator

import numpy as np

EXTRA = "pip install 'minsheng-qa[ocr]'"
DPI = 200  # scans' small print (footnotes, 小五号) stays legible; 300 reads no better and takes 2× longer
MAX_PAGES = 300  # scanned pages read from one file (about 10 minutes on two cores); a longer scan is refused
MAX_SIDE = 4000  # pixels: a page drawn larger (a poster-sized MediaBox) is drawn at a lower resolution
_PDFIUM = threading.Lock()  # pdfium is not thread-safe: a chat upload and a library upload may OCR at once


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

    with _PDFIUM:
        pdf = pypdfium2.PdfDocument(io.BytesIO(data))
        try:
            for n in pages:
                page = pdf[n]
                scale = min(dpi / 72, MAX_SIDE / max(page.get_size()))
                image = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
                yield n, read_image(image)
        finally:
            pdf.close()


def read_image(image: np.ndarray) -> str:
    """The text of one page image (H × W × 3, uint8): its lines top to bottom, each line's boxes left to right.

    A box joins a line when its middle lies within half a height (the smaller of the box's and the line's first
    box's) of the line's middle, so a tall box (a table cell over three rows) does not pull other rows in.
    """
    result, _ = _engine()(image)
    boxes = [(np.asarray(box, dtype=float), text) for box, text, _score in result or []]
    lines: list[tuple[float, float, list[tuple[float, float, str]]]] = []  # (middle, half height, boxes)
    for box, text in sorted(boxes, key=lambda b: b[0][:, 1].mean()):
        middle, half = box[:, 1].mean(), (box[:, 1].max() - box[:, 1].min()) / 2
        line = next((ln for ln in lines if abs(middle - ln[0]) <= min(ln[1], half)), None)
        if line is None:
            line = (middle, half, [])
            lines.append(line)
        line[2].append((box[:, 0].min(), middle, text))
    lines.sort(key=lambda ln: ln[0])
    return "\n".join("".join(t for _, _, t in sorted(parts)) for _, _, parts in lines)


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()
