"""Which OCR engine reads a scanned law best: character accuracy and seconds per page, RapidOCR against Tesseract.

Pages are made here from real laws: the text drawn at 12 pt on A4 (WenQuanYi Micro Hei), as a scanner at 200 dpi
would see it (slightly rotated, blurred and speckled), saved as an image-only PDF, then read back by each engine.
Accuracy = 1 − edit distance / length, on the text without spaces and line breaks.

    python -m bench.ocr ../shared/laws --out bench/ocr.json     # Tesseract: apt-get install tesseract-ocr-chi-sim
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from index import ocr
from index.precision import cpu_description

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
LAWS = ("社会法/劳动合同法(2012-12-28).md", "社会法/军人保险法(2012-04-27).md", "民法典")  # the last: its first file
DPI, POINT, MARGIN = 200, 12, 190  # 12 pt at 200 dpi is 33 px
CHARS_PER_LINE, LINES_PER_PAGE = 38, 34


def page_texts(laws: Path, pages: int) -> list[str]:
    """`pages` pages of law text (the body after the file's header), one string of lines each."""
    texts = []
    for name in LAWS:
        path = laws / name
        path = path if path.is_file() else sorted(path.rglob("*.md"))[0]
        body = path.read_text(encoding="utf-8").split("<!-- INFO END -->")[-1]
        paragraphs = [re.sub(r"\s+", "", p) for p in body.split("\n") if p.strip() and not p.startswith("#")]
        lines = [p[i : i + CHARS_PER_LINE] for p in paragraphs for i in range(0, len(p), CHARS_PER_LINE)]
        texts += ["\n".join(lines[i : i + LINES_PER_PAGE]) for i in range(0, 2 * LINES_PER_PAGE, LINES_PER_PAGE)]
    return texts[:pages]


def scanned(text: str, seed: int) -> Image.Image:
    """The page as a 200 dpi scan: drawn, turned by up to half a degree, blurred a little, speckled."""
    rng = random.Random(seed)
    size = (int(8.27 * DPI), int(11.69 * DPI))
    page = Image.new("L", size, 255)
    font = ImageFont.truetype(FONT, int(POINT * DPI / 72))
    ImageDraw.Draw(page).multiline_text((MARGIN, MARGIN), text, fill=20, font=font, spacing=int(POINT * DPI / 72 * 0.6))
    page = page.rotate(rng.uniform(-0.5, 0.5), fillcolor=255, resample=Image.BICUBIC)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    pixels = np.asarray(page, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).convert("RGB")


def image_pdf(images: list[Image.Image]) -> bytes:
    """An image-only PDF (no text layer), as a scanner writes."""
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()


def accuracy(found: str, truth: str) -> float:
    a, b = re.sub(r"\s+", "", found), re.sub(r"\s+", "", truth)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return max(0.0, 1 - previous[-1] / max(1, len(b)))


def tesseract(image: Image.Image) -> str:
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        image.save(f.name)
        run = subprocess.run(["tesseract", f.name, "-", "-l", "chi_sim", "--psm", "6"], capture_output=True, text=True)
    return run.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("laws", type=Path, help="the laws folder")
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    truths = page_texts(args.laws, args.pages)
    pdf = image_pdf([scanned(t, seed) for seed, t in enumerate(truths)])
    engines = {"rapidocr": None}
    if shutil.which("tesseract"):
        engines["tesseract chi_sim"] = tesseract
    report = {"cpu": cpu_description(), "pages": len(truths), "chars": sum(len(t) for t in truths), "engines": {}}
    for name in engines:
        t0, scores = time.perf_counter(), []
        if name == "rapidocr":
            found = dict(ocr.read_pages(pdf, list(range(len(truths)))))
            scores = [accuracy(found[n], t) for n, t in enumerate(truths)]
        else:
            import pypdfium2

            doc = pypdfium2.PdfDocument(pdf)
            for n, truth in enumerate(truths):
                scores.append(accuracy(engines[name](doc[n].render(scale=DPI / 72).to_pil()), truth))
        seconds = (time.perf_counter() - t0) / len(truths)
        report["engines"][name] = {"accuracy": round(float(np.mean(scores)), 4), "worst_page": round(min(scores), 4),
                                   "seconds_per_page": round(seconds, 2)}  # fmt: skip
        print(f"{name:18} accuracy {np.mean(scores):.4f} (worst page {min(scores):.4f})  {seconds:.2f} s/page")
    print(f"{len(truths)} pages, {report['chars']:,} characters; CPU: {report['cpu']}")
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
