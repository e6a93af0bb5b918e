"""The SQLite half of a generation: documents (with their original text), sentences, passages and BM25 terms,
written once and read by id."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.ingest import subtitle
from index.normalizer import normalize
from index.types import Document

DATABASE = "index.sqlite"
CATALOG = (
    "SELECT source, title, place, version, name, chars, first_passage, passages, origin, digest"
    " FROM documents ORDER BY id"
)


def write_tables(c, path: Path) -> None:
    """The rows of `c` (the store's Contents) into a new database at `path`."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE documents (id INTEGER PRIMARY KEY, source TEXT UNIQUE, title TEXT, place TEXT, version TEXT,
            name TEXT, chars INTEGER, first_passage INTEGER, passages INTEGER, origin TEXT, digest TEXT, text TEXT);
        CREATE TABLE sentences (id INTEGER PRIMARY KEY, doc INTEGER, start INTEGER, end INTEGER, section TEXT,
            clean TEXT, norm TEXT, tokens TEXT);
        CREATE TABLE passages (id INTEGER PRIMARY KEY, doc INTEGER, first INTEGER, last INTEGER, start INTEGER,
            end INTEGER, section TEXT, header TEXT);
        CREATE TABLE terms (term TEXT PRIMARY KEY, id INTEGER, idf REAL) WITHOUT ROWID;
        """
    )
    spans: dict[int, list[int]] = {}
    for i, p in enumerate(c.passages):
        spans.setdefault(p.doc, [i, 0])[1] += 1
    db.executemany(
        "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (d, doc.source, doc.title, doc.place, doc.version, doc_name(doc), len(doc.text), *spans.get(d, (0, 0)),
             doc.origin, doc.digest, doc.text)
            for d, doc in enumerate(c.documents)
        ),
    )  # fmt: skip
    db.executemany(
        "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?)",
        (
            (i, s.doc, s.start, s.end, s.section, s.clean, norm, " ".join(tokens))
            for i, (s, norm, tokens) in enumerate(zip(c.sentences, c.sentence_norms, c.sentence_tokens))
        ),
    )
    db.executemany(
        "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)",
        (
            (i, p.doc, p.first, p.last, p.start, p.end, p.section, " ".join(header))
            for i, (p, header) in enumerate(zip(c.passages, c.passage_headers))
        ),
    )
    db.commit()
    db.close()


def doc_name(doc: Document) -> str:
    """What a question names a document by: its title with a dash-led subtitle (`——市发改委调研报告`)."""
    return normalize(doc.title + subtitle(doc.text))


def connect_readonly(files: Path) -> sqlite3.Connection:
    """A read-only connection to a generation's database, usable from any thread."""
    uri = f"file:{(Path(files) / DATABASE).resolve().as_posix()}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


class Rows:
    """A read-only sequence whose items are fetched (and cached) on demand."""

    def __init__(self, length: int, fetch):
        self._length = length
        self._fetch = fetch

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i: int):
        if not -self._length <= i < self._length:
            raise IndexError(i)
        return self._fetch(int(i) % self._length)

    def __iter__(self):
        return (self._fetch(i) for i in range(self._length))
