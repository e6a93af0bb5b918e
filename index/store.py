"""The index on disk: one module owns the format; everything above asks for rows and vectors by id.

An index folder holds generations and a manifest naming the live one (the commit protocol: index/commit.py).
A generation holds:

    index.sqlite          documents (with their original text), sentences, passages, BM25 terms (index/tables.py)
    passage_vectors.npy   float16, one row per passage (memory-mapped: exact rescoring of candidates)
    sentence_vectors.npy  float16, one row per sentence (memory-mapped: the reader touches a few rows)
    passages.faiss        exact Flat for small corpora, HNSW above EXACT_LIMIT passages (index/dense.py)
    bm25/                 bm25s's score matrix (CSC arrays, memory-mapped; index/sparse.py)

Opening one reads the manifest, the document catalogue and the FAISS file; rows of sentences and
passages are read from SQLite when a question touches them, so start-up and memory do not grow with
the text the library holds.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

import bm25s
import faiss
import numpy as np

from index import dense
from index.commit import StoreError, live_files, read_manifest, rebuild_hint, write_generation
from index.sparse import best_of, bm25_candidates, bm25_scores, top_k, write_sparse
from index.tables import CATALOG, DATABASE, Rows, connect_readonly, write_tables
from index.types import Document, DocumentInfo, Passage, Segmented, Sentence, TextEncoder

FORMAT_VERSION = 6
ROW_CACHE = 4096


@dataclass
class Contents:
    """Everything a build hands the store to write: rows in id order, with their vectors and terms."""

    documents: list[Document]
    sentences: list[Sentence]
    sentence_norms: list[str]
    sentence_tokens: list[list[str]]
    passages: list[Passage]
    passage_headers: list[list[str]]  # the words of each passage's title and section
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    passage_terms: list[list[str]] | None = None  # what BM25 indexes: header, sentences' words, bigrams
    grows: Index | None = None  # an index whose passages are this one's first, unchanged: its FAISS index grows


def expected_manifest_keys(encoder: TextEncoder) -> dict:
    """The settings a loaded index must share with the running code and model."""
    from index.normalizer import NORMALIZER_NAME
    from index.tokenizer import tokenizer_name

    return {
        "format_version": FORMAT_VERSION,
        "model": encoder.name,
        "tokenizer": tokenizer_name(),
        "normalizer": NORMALIZER_NAME,
    }


def write(contents: Contents, out: Path, manifest: dict) -> None:
    """Write `contents` as a new generation of the index at `out` and commit it (index/commit.py)."""

    def fill(generation: Path) -> dict:
        write_tables(contents, generation / DATABASE)
        factory = dense.write_vectors(contents, generation)
        write_sparse(contents, generation)
        counts = {"documents": len(contents.documents), "passages": len(contents.passages)}
        counts |= {"sentences": len(contents.sentences), "faiss_factory": factory}
        return counts | {"format_version": FORMAT_VERSION}

    write_generation(out, fill, manifest)


def _check_manifest(path: Path, encoder: TextEncoder) -> dict:
    manifest = read_manifest(path)
    for key, want in expected_manifest_keys(encoder).items():
        got = manifest.get(key)
        if got != want:
            hint = f"; or ask with --model {got}" if key == "model" else ""
            raise StoreError(f"index at {path} was built with {key}={got!r}, not {want!r}; {rebuild_hint(path)}{hint}")
    return manifest


class Index:
    """An opened index: the document catalogue in memory, rows and vectors read on demand."""

    def __init__(self, path: Path, encoder: TextEncoder):
        self.path = Path(path)
        self.encoder = encoder
        self.manifest = _check_manifest(self.path, encoder)
        self.files = live_files(self.path, self.manifest)
        try:
            # one connection, opened now and shared by every thread (SQLite's serialized mode): its open file
            # keeps this generation readable for questions still answering after a later commit removed it
            self._connection = connect_readonly(self.files)
            self.catalog = [DocumentInfo(*row) for row in self._db().execute(CATALOG)]
            self.passage_vectors = np.load(self.files / "passage_vectors.npy", mmap_mode="r")
            self.sentence_vectors = np.load(self.files / "sentence_vectors.npy", mmap_mode="r")
            self._dense = faiss.read_index(str(self.files / "passages.faiss"))
            self._sparse = bm25s.BM25.load(str(self.files / "bm25"), mmap=True, load_vocab=False)
            # plain views of the mapped matrix: slicing a memmap builds a memmap object each time
            self._csc = {k: np.asarray(a) for k, a in self._sparse.scores.items() if isinstance(a, np.ndarray)}
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, sqlite3.Error) as exc:
            why = f"index at {self.path} is damaged ({exc.__class__.__name__}); {rebuild_hint(self.path)}"
            raise StoreError(why) from None
        n = self.manifest.get("passages")
        if not (self._dense.ntotal == len(self.passage_vectors) == n) or len(self.catalog) != self.manifest.get(
            "documents"
        ) or len(self.sentence_vectors) != self.manifest.get("sentences"):  # fmt: skip
            raise StoreError(f"index at {self.path} is inconsistent; {rebuild_hint(self.path)}")
        # caches belong to this index, so an index dropped (a chat session's uploads) takes its rows with it
        self._document = functools.lru_cache(maxsize=64)(self._read_document)
        self._sentence = functools.lru_cache(maxsize=ROW_CACHE)(self._read_sentence)
        self._passage = functools.lru_cache(maxsize=ROW_CACHE)(self._read_passage)
        self._sparse_candidates = functools.lru_cache(maxsize=4)(self._bm25_candidates)
        self.documents = Rows(len(self.catalog), self._document)
        self.sentences = Rows(self.manifest["sentences"], lambda i: self._sentence(i)[0])
        self.sentence_norms = Rows(self.manifest["sentences"], lambda i: self._sentence(i)[1])
        self.sentence_tokens = Rows(self.manifest["sentences"], lambda i: self._sentence(i)[2])
        self.passages = Rows(n, self._passage)
        self._by_source = {d.source: i for i, d in enumerate(self.catalog)}

    def _db(self) -> sqlite3.Connection:
        """The read-only connection every thread shares."""
        return self._connection

    def _read_document(self, d: int) -> Document:
        text = self._db().execute("SELECT text FROM documents WHERE id=?", (d,)).fetchone()[0]
        info = self.catalog[d]
        return Document(info.source, info.title, info.place, text, info.version, info.origin, info.digest)

    def _read_sentence(self, i: int) -> tuple[Sentence, str, list[str]]:
        row = self._db().execute("SELECT * FROM sentences WHERE id=?", (i,)).fetchone()
        _, doc, start, end, section, clean, norm, tokens = row
        return Sentence(doc, start, end, clean, section), norm, tokens.split(" ") if tokens else []

    def _read_passage(self, i: int) -> Passage:
        return Passage(
            *self._db()
            .execute("SELECT doc, first, last, start, end, section FROM passages WHERE id=?", (i,))
            .fetchone()
        )

    def document_rows(self, d: int) -> tuple[Segmented, range, range]:
        """Document `d`'s sentences (with normalised text and words) and passages (with their header words) as
        segmentation made them (numbered from 0, document 0), and the ranges of their sentence and passage ids
        here: what a new generation reuses."""
        info = self.catalog[d]
        p0 = info.first_passage
        rows = (
            self._db()
            .execute(
                "SELECT first, last, start, end, section, header FROM passages WHERE id >= ? AND id < ? ORDER BY id",
                (p0, p0 + info.passages),
            )
            .fetchall()
        )
        passages = [Passage(0, *row[:5]) for row in rows]
        headers = [row[5].split(" ") if row[5] else [] for row in rows]
        s0, s1 = (passages[0].first, passages[-1].last + 1) if passages else (0, 0)
        rows = (
            self._db()
            .execute(
                "SELECT start, end, section, clean, norm, tokens FROM sentences WHERE id >= ? AND id < ? ORDER BY id",
                (s0, s1),
            )
            .fetchall()
        )
        sentences = [Sentence(0, start, end, clean, section) for start, end, section, clean, _, _ in rows]
        norms = [row[4] for row in rows]
        tokens = [row[5].split(" ") if row[5] else [] for row in rows]
        local = [replace(x, first=x.first - s0, last=x.last - s0) for x in passages]
        return Segmented(sentences, norms, tokens, local, headers), range(s0, s1), range(p0, p0 + info.passages)

    def by_source(self, source: str) -> int | None:
        """The position of the document named `source`, or None."""
        return self._by_source.get(source)

    def text(self, doc: int, start: int, end: int) -> str:
        """The original characters at a citation: what every quote must equal."""
        return self.documents[doc].text[start:end]

    def term_ids(self, terms: list[str]) -> list[int]:
        """BM25 column ids of the terms the index knows, repeats kept (a repeated term counts again)."""
        known = self._terms(terms)
        return [known[t][0] for t in terms if t in known]

    def idf(self, terms: set[str]) -> dict[str, float]:
        """Inverse passage frequency of each term; a term no passage holds gets the largest there is."""
        known = self._terms(list(terms))
        return {t: known[t][1] if t in known else self._max_idf for t in terms}

    @functools.cached_property
    def _max_idf(self) -> float:
        return float(self._db().execute("SELECT max(idf) FROM terms").fetchone()[0] or 1.0)

    def _terms(self, terms: list[str]) -> dict[str, tuple[int, float]]:
        unique = list(dict.fromkeys(terms))
        marks = ",".join("?" * len(unique))
        rows = self._db().execute(f"SELECT term, id, idf FROM terms WHERE term IN ({marks})", unique)
        return {t: (i, f) for t, i, f in rows}

    def passage_range(self, docs: list[int]) -> np.ndarray:
        """The ids of every passage of `docs` (a document's passages are consecutive)."""
        docs = np.asarray(docs, dtype=np.int64)
        first, counts = self._first_passages[docs], self._passage_counts[docs]
        ends = np.cumsum(counts)  # each document's run: its first passage, then consecutive ids
        return np.repeat(first - ends + counts, counts) + np.arange(ends[-1] if len(ends) else 0)

    def passage_docs(self, ids: np.ndarray) -> np.ndarray:
        """The document of each passage id."""
        return np.searchsorted(self._first_passages, ids, side="right") - 1

    @functools.cached_property
    def _first_passages(self) -> np.ndarray:
        return np.array([d.first_passage for d in self.catalog], dtype=np.int64)

    @functools.cached_property
    def _passage_counts(self) -> np.ndarray:
        return np.array([d.passages for d in self.catalog], dtype=np.int64)

    def dense_search(self, query_vector: np.ndarray, k: int, among: np.ndarray | None = None) -> np.ndarray:
        """Ids of the `k` passages nearest the query, best first; only `among` these ids when given.

        A restricted search of up to EXACT_LIMIT passages is exact over their stored vectors.
        """
        if among is not None and len(among) <= dense.EXACT_LIMIT:
            scores = self.dense_scores(query_vector, among)
            return among[top_k(scores, k)]
        return dense.search(self._dense, query_vector, k, among)

    def dense_scores(self, query_vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with the passages `ids`.

        They are read from the FAISS index's own float32 copy, already in memory (converting thousands of
        float16 rows cost more than the search), a document's consecutive passages as one slice.
        """
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        q = query_vector.reshape(-1).astype(np.float32)
        breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
        if len(breaks) * 16 < len(ids):  # long runs (whole documents): slices, no copy
            runs = zip(np.r_[0, breaks], np.r_[breaks, len(ids)])
            scores = np.concatenate([self._vectors[ordered[a] : ordered[b - 1] + 1] @ q for a, b in runs])
        else:
            scores = np.take(self._vectors, ordered, axis=0) @ q
        out = np.empty(len(ids), dtype=np.float32)
        out[order] = scores
        return out

    @functools.cached_property
    def _vectors(self) -> np.ndarray:
        """The passage vectors as float32 rows: a view of the FAISS index's storage when it has one."""
        view = dense.float_rows(self._dense)
        if view is not None:
            return view
        return np.asarray(self.passage_vectors, dtype=np.float32)

    def sparse_search(self, term_ids: list[int], k: int, among: np.ndarray | None = None) -> np.ndarray:
        """Ids of up to `k` passages with the best BM25 score, best first; only `among` these ids when given."""
        return best_of(self._sparse_candidates(tuple(term_ids)), k, among)

    def _bm25_candidates(self, term_ids: tuple[int, ...]) -> np.ndarray:
        """`bm25_candidates`, read-only, so that one question's second search (within the documents it
        names) reuses its first (over the library) from the cache."""
        scores = bm25_candidates(self._csc, term_ids, len(self.passages))
        scores.flags.writeable = False
        return scores

    def sparse_scores(self, term_ids: list[int], passages: np.ndarray) -> np.ndarray:
        """Exact BM25 scores of the given passages."""
        return bm25_scores(self._csc, term_ids, passages)
