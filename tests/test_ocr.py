"""Scanned PDFs: a page without a text layer is read by OCR, and quotes from it say which page they are on.

The pages are drawn here from a law's text and saved as an image-only PDF, as a scanner writes one.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from index import ocr
from index.ingest import PAGE_BREAK, IngestError, page_of, read_document

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PAGES = [
    "中华人民共和国劳动合同法\n第一条为了完善劳动合同制度，明确劳动合同\n双方当事人的权利和义务，制定本法。",
    "第十九条劳动合同期限三个月以上不满一年的，\n试用期不得超过一个月。\n同一用人单位与同一劳动者只能约定一次试用期。",
]


def scanned_pdf(pages: list[str]) -> bytes:
    """An image-only PDF of `pages`, drawn at 200 dpi."""
    if not FONT.exists():
        pytest.skip("the WenQuanYi font (fonts-wqy-microhei) draws the test pages")
    font = ImageFont.truetype(str(FONT), 40)
    images = []
    for text in pages:
        image = Image.new("RGB", (1654, 2339), "white")
        ImageDraw.Draw(image).multiline_text((160, 200), text, fill="black", font=font, spacing=24)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "劳动合同法(扫描件).pdf"
    path.write_bytes(scanned_pdf(PAGES))
    return path


def test_a_scanned_page_is_read_and_its_page_known(scan: Path) -> None:
    if not ocr.available():
        pytest.skip(f"OCR is an optional extra: {ocr.EXTRA}")
    doc = read_document(scan, scan.name)
    assert doc.text.count(PAGE_BREAK) == 1
    first, second = doc.text.split(PAGE_BREAK)
    assert "试用期不得超过一个月" in _flat(second) and "制定本法" in _flat(first)
    at = doc.text.index("试用期")
    assert page_of(doc.text, at) == 2 and page_of(doc.text, 0) == 1
    assert page_of("no pages here", 3) == 0


def test_a_scanned_law_is_quoted_with_its_page(scan: Path, tmp_path: Path, fake_encoder) -> None:
    if not ocr.available():
        pytest.skip(f"OCR is an optional extra: {ocr.EXTRA}")
    from qa.assistant import Assistant, build_folder

    build_folder(scan.parent, tmp_path / "index", fake_encoder, progress=False)
    assistant = Assistant(tmp_path / "index", encoder=fake_encoder, progress=False)
    answer = assistant.answer("劳动合同期限三个月以上不满一年的试用期不得超过多久?")
    quotes = answer.sentences or answer.passages
    quote = next(q for q in quotes if "试用期" in q.text)
    original = assistant.index.documents[assistant.index.by_source(scan.name)].text
    assert quote.text == original[quote.start : quote.end] and quote.page == 2
    assert "第2页" in quote.locator
    for p in answer.to_json()["passages"]:
        assert p["page"] == page_of(original, p["start"]) and p["page"] in (1, 2)


def test_without_ocr_a_scan_is_named_with_the_extra_to_install(scan: Path, monkeypatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(IngestError, match=r"scanned \.pdf \(no text layer\).*minsheng-qa\[ocr\]"):
        read_document(scan, scan.name)


def test_a_blank_scan_is_named_not_indexed_as_nothing(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_blank_page(200, 200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as out:
        writer.write(out)
    with pytest.raises(IngestError, match="no text found" if ocr.available() else "scanned"):
        read_document(path, path.name)


def box(x: float, y: float, w: float = 100, h: float = 30) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_lines_are_read_top_to_bottom_and_left_to_right(monkeypatch) -> None:
    np = pytest.importorskip("numpy")
    found = [
        (box(300, 102), "右", 0.9),  # on the first line, found before its left neighbour, 2 px lower
        (box(100, 100), "左", 0.9),
        (box(100, 150), "第二行", 0.9),
        (box(100, 200, h=130), "高格", 0.9),  # a table cell over three rows: it must not merge them
        (box(300, 200), "甲", 0.9),
        (box(300, 250), "乙", 0.9),
        (box(300, 300), "丙", 0.9),
    ]
    monkeypatch.setattr(ocr, "_engine", lambda: lambda image: (found, None))
    lines = ocr.read_image(np.zeros((10, 10, 3), dtype=np.uint8)).split("\n")
    assert lines[:2] == ["左右", "第二行"]
    assert lines[2:] == ["甲", "高格乙", "丙"]
