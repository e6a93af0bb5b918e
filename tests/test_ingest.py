"""Ingestion: formats and encodings are detected, bad files are refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.ingest import IngestError, decode, read_document

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.mark.parametrize(
    ("name", "fact", "title", "place"),
    [
        ("tianjin.txt", "每千人口擁有3歲以下嬰幼兒托位數達到4.5個", "天津市托育服務規劃", "天津"),
        ("chengdu.md", "成都市城乡最低生活保障标准分别提高至700元", "成都市社会救助", "成都"),
        ("shanghai.html", "养老护理员持等级证的比例达到80%", "上海养老", "上海"),
        ("gbk_notes.txt", "全市新增就业岗位3000个", "吉林市就业服务", "吉林"),
        ("big5_notes.txt", "全市公共圖書館共有56所", "臺北市圖書館", "台北"),
    ],
)
def test_formats_and_encodings(name: str, fact: str, title: str, place: str) -> None:
    doc = read_document(TINY / name, name)
    assert fact in doc.text
    assert (doc.title, doc.place) == (title, place)


def test_html_drops_script() -> None:
    assert "alert" not in read_document(TINY / "shanghai.html", "shanghai.html").text


def test_docx(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("成都市养老服务")
    document.add_paragraph("全市建成社区养老服务综合体120个。")
    document.save(tmp_path / "a.docx")
    doc = read_document(tmp_path / "a.docx", "a.docx")
    assert "全市建成社区养老服务综合体120个。" in doc.text and doc.place == "成都"


def test_pdf(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    with (tmp_path / "blank.pdf").open("wb") as f:
        writer.write(f)
    with pytest.raises(IngestError, match="no text"):
        read_document(tmp_path / "blank.pdf", "blank.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(IngestError, match="not a readable .pdf"):
        read_document(tmp_path / "broken.pdf", "broken.pdf")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("empty.txt", b"", "no text"),
        ("notes.xyz", "一些文字。".encode(), "unsupported file type"),
        ("bad.docx", b"PK\x03\x04 not a zip", "not a readable .docx"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(IngestError, match=message):
        read_document(tmp_path / name, name)


def test_gb18030_not_mistaken_for_big5() -> None:
    text = "特困人员集中供养标准提高至每人每月1870元,分散供养标准为1530元。"
    assert decode(text.encode("gb18030"), "x") == text
    assert decode("臺灣的幼稚園與網際網路服務。".encode("big5"), "x") == "臺灣的幼稚園與網際網路服務。"
