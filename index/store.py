"""The index on disk: one module owns the format; everything above asks for rows and vectors by id.

An index is a directory holding one live generation of files and a commit point naming it:

    manifest.json         how it was built (model, tokenizer, normaliser, format, counts) and the live
                          generation; replacing this one file (an atomic rename) commits a build or an update
    .lock                 held while a build or update writes (a second one refuses)
    g000007/              a generation: immutable once committed; the previous one is kept for readers
                          still answering from it, older and unfinished ones are removed by the next writer
      index.sqlite          documents (with their original text), sentences, passages, BM25 term ids and idf
      passage_vectors.npy   float16, one row per passage (memory-mapped: exact rescoring of candidates)
      sentence_vectors.npy  float16, one row per sentence (memory-mapped: the reader touches a few rows)
      passages.faiss        exact Flat for small corpora, HNSW above EXACT_LIMIT passages
      bm25/                 bm25s's score matrix (CSC arrays, memory-mapped)

Opening one reads the manifest, the document catalogue and the FAISS file; rows of sentences and
passages are read from SQLite when a question touches them, so start-up and memory do not grow with
the text the library holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

import bm25s
import faiss
import numpy as np

from index.ingest import subtitle
from index.normalize import normalize
from index.types import Document, DocumentInfo, Passage, Sentence

FORMAT_VERSION = 6
MANIFEST = "manifest.json"
DATABASE = "index.sqlite"
LOCK = ".lock"
LEGACY_FILES = ("index.sqlite", "passage_vectors.npy", "sentence_vectors.npy", "passages.faiss", "bm25")
GENERATION = re.compile(r"g(\d{6})")
_HELD: set[Path] = set()  # index folders whose write lock this process holds
EXACT_LIMIT = 20_000  # passages; a larger corpus gets an approximate (HNSW) index
HNSW = "HNSW32"
EF_CONSTRUCTION = 80
EF_SEARCH = 512  # 1M clustered synthetic vectors: recall@10 0.914 at 128, 0.98 at 512 (0.95 ms), 0.988 at 1024
ROW_CACHE = 4096
SPARSE_POSTINGS = 300_000  # BM25 matrix entries a question's candidate search reads at most


class StoreError(Exception):
    """An index that is missing, damaged or built differently; the message says how to rebuild."""


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


def faiss_factory(passages: int) -> str:
    return "Flat" if passages <= EXACT_LIMIT else HNSW


def expected_manifest_keys(encoder) -> dict:
    """The settings a loaded index must share with the running code and model."""
    from index.normalize import NORMALIZER_NAME
    from index.tokenize import tokenizer_name

    return {
        "format_version": FORMAT_VERSION,
        "model": encoder.name,
        "tokenizer": tokenizer_name(),
        "normalizer": NORMALIZER_NAME,
    }


def write(contents: Contents, out: Path, manifest: dict) -> None:
    """Write `contents` as a new generation of the index at `out` and commit it.

    Until the commit (one rename of the manifest) readers see the index as it was; a writer killed at any
    moment leaves the previous index whole, and its unfinished generation is removed by the next writer.
    """
    out = Path(out)
    with locked(out):
        previous = _live_generation(out)
        number = max([int(m[1]) for p in out.iterdir() if (m := GENERATION.fullmatch(p.name))], default=0) + 1
        generation = out / f"g{number:06d}"
        _remove_generations(out, keep={previous})
        generation.mkdir()
        try:
            _write_tables(contents, generation / DATABASE)
            factory = _write_vectors(contents, generation)
            _write_sparse(contents, generation)
            _sync_tree(generation)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)  # a killed writer's is removed by the next one
            raise
        counts = {"documents": len(contents.documents), "passages": len(contents.passages)}
        manifest = manifest | counts | {"sentences": len(contents.sentences), "faiss_factory": factory}
        manifest |= {"format_version": FORMAT_VERSION, "generation": generation.name}
        _commit(out, manifest)
        # the generation just replaced stays for questions still being answered from it
        _remove_generations(out, keep={previous, generation.name})
        for name in LEGACY_FILES:  # an index of format ≤ 5 kept its files beside the manifest
            legacy = out / name
            if legacy.is_dir():
                shutil.rmtree(legacy, ignore_errors=True)
            else:
                legacy.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path):
    """Hold the write lock of the index at `path` (created if need be); a second writer gets StoreError.

    The lock is an flock, so a killed writer releases it with its last breath.
    """
    path = Path(path)
    if path.resolve() in _HELD:  # this process holds it already (an update calls write)
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    if not (path / MANIFEST).exists() and not all(_ours(p.name) for p in path.iterdir()):
        raise StoreError(f"{path} exists and is not an index; choose another --out")
    with open(path / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise StoreError(
                f"another build or update of {path} is running (pid {holder}); try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD.add(path.resolve())
        try:
            yield
        finally:
            _HELD.discard(path.resolve())
            if not (path / MANIFEST).exists():  # a first build that failed leaves no folder behind
                (path / LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.rmdir()


def _ours(name: str) -> bool:
    """A name this store writes in an index folder (what a killed first build may have left)."""
    return name in (LOCK, MANIFEST) or bool(GENERATION.fullmatch(name)) or name.startswith(f".{MANIFEST}.")


def _live_generation(path: Path) -> str | None:
    return read_manifest(path).get("generation") if (path / MANIFEST).exists() else None


def _remove_generations(path: Path, keep: set[str | None]) -> None:
    """Remove the generations not in `keep`, and manifests a killed writer left unrenamed."""
    for p in path.iterdir():
        if GENERATION.fullmatch(p.name) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{MANIFEST}."):
            p.unlink(missing_ok=True)


def _commit(path: Path, manifest: dict) -> None:
    """Replace the manifest in one atomic rename, after its bytes and the generation's are on disk."""
    tmp = path / f".{MANIFEST}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, ensure_ascii=False, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / MANIFEST)
    _fsync_dir(path)


def _sync_tree(path: Path) -> None:
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())
    for d in [path, *(p for p in path.rglob("*") if p.is_dir())]:
        _fsync_dir(d)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tables(c: Contents, path: Path) -> None:
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


def _write_vectors(c: Contents, tmp: Path) -> str:
    np.save(tmp / "passage_vectors.npy", c.passage_vectors.astype(np.float16))
    np.save(tmp / "sentence_vectors.npy", c.sentence_vectors.astype(np.float16))
    factory = faiss_factory(len(c.passages))
    done = 0
    if c.grows is not None and factory != "Flat":  # an approximate index grows; Flat is rebuilt in no time
        dense = faiss.read_index(str(c.grows.files / "passages.faiss"))
        done = dense.ntotal if isinstance(dense, faiss.IndexHNSW) and dense.ntotal == len(c.grows.passages) else 0
    if not done:
        dense = faiss.index_factory(c.passage_vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        if factory != "Flat":
            dense.hnsw.efConstruction = EF_CONSTRUCTION
    # the float16 values stored beside it, so that search and exact rescoring see the same vectors
    dense.add(np.ascontiguousarray(c.passage_vectors[done:].astype(np.float16), dtype=np.float32))
    faiss.write_index(dense, str(tmp / "passages.faiss"))
    return factory


def _write_sparse(c: Contents, tmp: Path) -> None:
    """bm25s computes the score matrix; its vocabulary goes into SQLite, so loading never parses it whole."""
    sparse = bm25s.BM25(method="lucene")
    sparse.index([t or ["\0"] for t in c.passage_terms], show_progress=False)
    sparse.save(str(tmp / "bm25"))
    (tmp / "bm25" / "vocab.index.json").unlink()
    indptr = np.asarray(sparse.scores["indptr"])
    df = np.diff(indptr)  # passages holding each term
    n = len(c.passages)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    db = sqlite3.connect(tmp / DATABASE)
    rows = ((t, i, float(idf[i])) for t, i in sparse.vocab_dict.items() if i < len(idf))
    db.executemany("INSERT INTO terms VALUES (?,?,?)", rows)
    db.commit()
    db.close()


def doc_name(doc: Document) -> str:
    """What a question names a document by: its title with a dash-led subtitle (`——市发改委调研报告`)."""
    return normalize(doc.title + subtitle(doc.text))


def read_manifest(path: Path) -> dict:
    """The manifest of the index at `path`, or StoreError saying there is none."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.exists():
        raise StoreError(f"no index at {path} (no {MANIFEST}); build one with: qa index build FOLDER --out {path}")
    try:
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError(f"index manifest at {manifest_path} is unreadable; {_rebuild_hint(path)}") from None


def commit_stamp(path: Path) -> tuple[int, int] | None:
    """Changes whenever a build or update of the index at `path` commits (a stat, no read)."""
    try:
        st = os.stat(Path(path) / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def live_files(path: Path, manifest: dict) -> Path:
    """The folder of the generation `manifest` names (the index's files as of that commit)."""
    generation = manifest.get("generation")
    if not isinstance(generation, str) or not GENERATION.fullmatch(generation):
        raise StoreError(f"index at {path} names no generation of files; {_rebuild_hint(path)}")
    return Path(path) / generation


def connect_readonly(files: Path) -> sqlite3.Connection:
    """A read-only connection to a generation's database, usable from any thread."""
    uri = f"file:{(Path(files) / DATABASE).resolve().as_posix()}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _rebuild_hint(path: Path) -> str:
    return f"rebuild it with: qa index build SOURCE_FOLDER --out {path}"


def _check_manifest(path: Path, encoder) -> dict:
    manifest = read_manifest(path)
    for key, want in expected_manifest_keys(encoder).items():
        got = manifest.get(key)
        if got != want:
            hint = f"; or ask with --model {got}" if key == "model" else ""
            raise StoreError(f"index at {path} was built with {key}={got!r}, not {want!r}; {_rebuild_hint(path)}{hint}")
    return manifest


class Index:
    """An opened index: the document catalogue in memory, rows and vectors read on demand."""

    def __init__(self, path: Path, encoder):
        self.path = Path(path)
        self.encoder = encoder
        self.manifest = _check_manifest(self.path, encoder)
        self.files = live_files(self.path, self.manifest)
        try:
            # one connection, opened now and shared by every thread (SQLite's serialized mode): its open file
            # keeps this generation readable for questions still answering after a later commit removed it
            self._connection = connect_readonly(self.files)
            self.catalog = [DocumentInfo(*row) for row in self._db().execute(_CATALOG)]
            self.passage_vectors = np.load(self.files / "passage_vectors.npy", mmap_mode="r")
            self.sentence_vectors = np.load(self.files / "sentence_vectors.npy", mmap_mode="r")
            self._dense = faiss.read_index(str(self.files / "passages.faiss"))
            self._sparse = bm25s.BM25.load(str(self.files / "bm25"), mmap=True, load_vocab=False)
            # plain views of the mapped matrix: slicing a memmap builds a memmap object each time
            self._csc = {k: np.asarray(a) for k, a in self._sparse.scores.items() if isinstance(a, np.ndarray)}
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, sqlite3.Error) as exc:
            why = f"index at {self.path} is damaged ({exc.__class__.__name__}); {_rebuild_hint(self.path)}"
            raise StoreError(why) from None
        n = self.manifest.get("passages")
        if not (self._dense.ntotal == len(self.passage_vectors) == n) or len(self.catalog) != self.manifest.get(
            "documents"
        ) or len(self.sentence_vectors) != self.manifest.get("sentences"):  # fmt: skip
            raise StoreError(f"index at {self.path} is inconsistent; {_rebuild_hint(self.path)}")
        # caches belong to this index, so an index dropped (a chat session's uploads) takes its rows with it
        self._document = functools.lru_cache(maxsize=64)(self._read_document)
        self._sentence = functools.lru_cache(maxsize=ROW_CACHE)(self._read_sentence)
        self._passage = functools.lru_cache(maxsize=ROW_CACHE)(self._read_passage)
        self._sparse_candidates = functools.lru_cache(maxsize=4)(self._bm25_candidates)
        self.documents = _Rows(len(self.catalog), self._document)
        self.sentences = _Rows(self.manifest["sentences"], lambda i: self._sentence(i)[0])
        self.sentence_norms = _Rows(self.manifest["sentences"], lambda i: self._sentence(i)[1])
        self.sentence_tokens = _Rows(self.manifest["sentences"], lambda i: self._sentence(i)[2])
        self.passages = _Rows(n, self._passage)
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

    def document_rows(self, d: int) -> tuple:
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
        return sentences, norms, tokens, local, headers, range(s0, s1), range(p0, p0 + info.passages)

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
        if among is not None and len(among) <= EXACT_LIMIT:
            scores = self.dense_scores(query_vector, among)
            return among[top_k(scores, k)]
        params = None
        if isinstance(self._dense, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(efSearch=max(EF_SEARCH, k))
        if among is not None:
            selector = faiss.IDSelectorBatch(among.astype(np.int64))
            params = params or faiss.SearchParameters()
            params.sel = selector
        _, ids = self._dense.search(query_vector.reshape(1, -1).astype(np.float32), k, params=params)
        return ids[0][ids[0] >= 0]  # FAISS pads missing results with -1

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
        flat = self._dense.storage if isinstance(self._dense, faiss.IndexHNSW) else self._dense
        flat = faiss.downcast_index(flat)
        if isinstance(flat, faiss.IndexFlat) and flat.ntotal:
            view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
            view.flags.writeable = False
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


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest scores, best first, ties in position order: what
    `np.argsort(-scores, kind="stable")[:k]` gives, without sorting thousands of scores to keep a hundred."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    chosen = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def bm25_top(csc: dict, term_ids: list[int], k: int, n: int, among: np.ndarray | None = None) -> np.ndarray:
    """The `k` best of `n` passages (within `among`) by the sum of the BM25 matrix's term columns, best first."""
    return best_of(bm25_candidates(csc, tuple(term_ids), n), k, among)


def bm25_candidates(csc: dict, term_ids: tuple[int, ...], n: int) -> np.ndarray:
    """Every passage's sum of the question's term columns (0 where it holds none), read rarest first.

    Columns are read until SPARSE_POSTINGS entries: exact for a question over a few thousand passages; over a
    large library the very common terms (规定, 条例) only count in the exact rescoring of the candidates
    (`bm25_scores`), so no question reads millions of entries.
    """
    ids = np.asarray(term_ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(n)
    indptr = csc["indptr"]
    sizes = indptr[ids + 1] - indptr[ids]
    order = np.argsort(sizes, kind="stable")
    chosen = ids[order[: max(1, int(np.searchsorted(np.cumsum(sizes[order]), SPARSE_POSTINGS, side="right")))]]
    spans = list(zip(np.asarray(indptr[chosen]).tolist(), np.asarray(indptr[chosen + 1]).tolist()))
    rows = np.concatenate([csc["indices"][a:b] for a, b in spans])
    weights = np.concatenate([csc["data"][a:b] for a, b in spans])
    return np.bincount(rows, weights=weights, minlength=n)


def best_of(scores: np.ndarray, k: int, among: np.ndarray | None = None) -> np.ndarray:
    """Up to `k` positions (of `among`, when given) with the best positive scores, best first."""
    pool = scores if among is None else scores[among]
    top = np.argpartition(-pool, k)[:k] if len(pool) > k else np.arange(len(pool))
    top = top[pool[top] > 0]
    top = top[np.argsort(-pool[top], kind="stable")]
    return top if among is None else among[top]


def bm25_scores(csc: dict, term_ids: list[int], passages: np.ndarray) -> np.ndarray:
    """Exact BM25 scores of `passages`: a binary search in each term's column (its rows are sorted)."""
    out = np.zeros(len(passages), dtype=np.float64)
    ids = np.asarray(term_ids, dtype=np.int64)
    for a, b in zip(np.asarray(csc["indptr"][ids]).tolist(), np.asarray(csc["indptr"][ids + 1]).tolist()):
        if a == b:
            continue
        column = csc["indices"][a:b]
        at = np.minimum(np.searchsorted(column, passages), b - a - 1)
        hit = column[at] == passages
        out[hit] += csc["data"][a + at[hit]]
    return out.astype(np.float32)


_CATALOG = (
    "SELECT source, title, place, version, name, chars, first_passage, passages, origin, digest"
    " FROM documents ORDER BY id"
)


class _Rows:
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
