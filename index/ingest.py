"""Read files into Documents: detect the format and encoding, find the title and place."""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections import Counter
from pathlib import Path

from index import ocr
from index.normalizer import normalize
from index.places import PLACES
from index.segment import is_boilerplate
from index.types import Document

PAGE_BREAK = "\n\f"  # between a PDF's pages: a line break, then a form feed (as pdftotext writes)
SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
MAX_BYTES = 50_000_000


class IngestError(Exception):
    """A file that cannot be read as a document; the message says why."""


def read_document(path: Path, source: str) -> Document:
    """Decode one file into a Document whose `text` is what every citation offset points into."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES and path.stat().st_size > MAX_BYTES:
        raise IngestError(f"{source}: larger than {MAX_BYTES // 1_000_000} MB")
    return parse_document(path.read_bytes() if path.suffix.lower() in SUFFIXES else b"", path, source)


def parse_document(data: bytes, path: Path, source: str) -> Document:
    """A Document from a file's bytes (read here or elsewhere: a Ray task gets them shipped); `path` gives
    the file's type, name and origin."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise IngestError(f"{source}: unsupported file type {suffix or '(none)'}; use {', '.join(SUFFIXES)}")
    if len(data) > MAX_BYTES:
        raise IngestError(f"{source}: larger than {MAX_BYTES // 1_000_000} MB")
    if suffix == ".docx":
        text = _docx_text(data, source)
    elif suffix == ".pdf":
        text = _pdf_text(data, source)
    else:
        text = decode(data, source)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(re.findall(r"\w", text)) < 2:
        raise IngestError(f"{source}: no text found")
    title, place = find_title(text, path.stem), find_place(text, path.stem)
    digest = hashlib.sha256(data).hexdigest()
    return Document(source, title, place, text, find_version(path.stem, text), os.path.abspath(path), digest)


def decode(data: bytes, source: str) -> str:
    """Decode UTF-8, GB18030/GBK or Big5, detected rather than assumed; refuse binary data."""
    if b"\x00" in data[:4096]:
        raise IngestError(f"{source}: binary data, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "big5hkscs", "utf_16"]).best()
    if best is None:
        best = from_bytes(data).best()
    if best is None or best.percent_chaos > 40:  # percent of characters that look like mojibake
        raise IngestError(f"{source}: undecodable text (not UTF-8, GB18030/GBK or Big5)")
    return str(best)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return soup.get_text("\n")


def _docx_text(data: bytes, source: str) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for a bad zip
        raise IngestError(f"{source}: not a readable .docx ({exc.__class__.__name__})") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(lines)


def _pdf_text(data: bytes, source: str) -> str:
    """The text of each page (its text layer; for a page without one, what OCR reads off its image), pages
    joined by PAGE_BREAK so a quote's page can be told from its offset."""
    from pypdf import PdfReader

    try:
        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except Exception as exc:  # pypdf's errors differ by what is broken in the file
        raise IngestError(f"{source}: not a readable .pdf ({exc.__class__.__name__})") from None
    scanned = [n for n, text in enumerate(pages) if not text.strip()]
    if scanned and ocr.available():
        if len(scanned) > ocr.MAX_PAGES:
            raise IngestError(f"{source}: {len(scanned)} scanned pages, more than the {ocr.MAX_PAGES} read by OCR")
        try:
            for n, text in ocr.read_pages(data, scanned):
                pages[n] = text
        except (RuntimeError, ValueError, MemoryError) as exc:  # pdfium's and the OCR engine's errors
            raise IngestError(f"{source}: its scanned pages could not be read ({exc.__class__.__name__})") from None
    elif scanned and len(scanned) == len(pages):
        raise IngestError(f"{source}: a scanned .pdf (no text layer); to read it by OCR: {ocr.EXTRA}")
    return PAGE_BREAK.join(pages)


def page_of(text: str, offset: int) -> int:
    """The page (from 1) that `offset` falls on in a text with page breaks (a PDF's, or pdftotext's form
    feeds); 0 for a text that has none."""
    return text.count(PAGE_BREAK, 0, offset) + 1 if PAGE_BREAK in text else 0


def find_title(text: str, fallback: str) -> str:
    """The first line that reads as a title; a 《name》 in a boilerplate header; else the file name."""
    for line in text.split("\n")[:8]:
        line = line.strip()
        if not line:
            continue
        if is_boilerplate(line):
            named = re.search(r"《([^》]{4,60})》", line)
            if named:
                return re.sub(r"\.(docx?|pdf|txt)$", "", named.group(1))
            continue
        cells = [c.strip() for c in line.split("|") if c.strip() and c.strip() not in ("标题", "標題", "title")]
        if cells and len(cells[0]) <= 60:
            return cells[0].lstrip("#").strip()
        break
    return fallback


def find_place(text: str, stem: str) -> str:
    """The place a document is about: named in its title, else clearly the most named in its text."""
    title = normalize(find_title(text, stem))
    for place in PLACES:
        if place in title:
            return place
    norm = normalize(text)  # once: OpenCC over a long law takes milliseconds
    counts = Counter({p: norm.count(p) for p in PLACES})
    ranked = [(p, n) for p, n in counts.most_common(2) if n]
    if ranked and (len(ranked) == 1 or ranked[0][1] >= 3 * ranked[1][1]):
        return ranked[0][0]
    return ""


_VERSION = re.compile(r"[(（](\d{4}-\d{2}-\d{2})[)）]\s*$")


_ENACTED = re.compile(r"((?:19|20)\d\d)年(\d{1,2})月(\d{1,2})日[^\n]{0,80}?(通过|修订|修正|公布|发布|施行)")
ENACTMENT_LINES = 12  # a law's enactment and amendment lines come right after its title


def undated(stem: str) -> str:
    """A file name less the version date it carries: `上海市住宅物业管理规定(2020-12-30)` → `上海市住宅物业管理规定`."""
    return _VERSION.sub("", stem).strip()


def find_version(stem: str, text: str = "") -> str:
    """The version date a file name carries (`上海市住宅物业管理规定(2020-12-30)`), else the latest date
    of the document's own enactment/amendment lines (`2020年12月30日…第二次修正`), else ""."""
    found = _VERSION.search(stem)
    if found:
        return found.group(1)
    head = "\n".join(text.split("\n", ENACTMENT_LINES + 1)[:ENACTMENT_LINES]).split("<!-- INFO END -->")[0]
    dates = [f"{y}-{int(m):02d}-{int(d):02d}" for y, m, d, _ in _ENACTED.findall(head)]
    return max(dates, default="")


def subtitle(text: str) -> str:
    """A dash-led subtitle line among a document's first lines (`——市发改委调研报告`), else ""."""
    for line in text.split("\n")[1:4]:
        if line.strip().startswith(("——", "--", "—")):
            return " " + line.strip().lstrip("—-")
    return ""
