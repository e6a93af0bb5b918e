"""The index on disk: build it atomically, record how it was built, and refuse to load a mismatch."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np
from tqdm import tqdm

from index import chunk as chunking
from index.embed import Encoder
from index.ingest import IngestError, read_document
from index.normalize import NORMALIZER_NAME, normalize
from index.segment import split_sentences
from index.tokenize import bm25_terms, tokenize, tokenizer_name
from index.types import Document, Passage, Sentence

FORMAT_VERSION = 4
FAISS_FACTORY = "Flat"  # exact inner product over unit vectors: corpora here are small enough
MANIFEST = "manifest.json"


class StoreError(Exception):
    """An index that is missing, damaged or built differently; the message says how to rebuild."""


@dataclass
class BuildReport:
    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: reason"


def corpus_hash(documents: list[Document]) -> str:
    """Identifies a corpus by its file names and texts."""
    corpus = hashlib.sha256()
    for doc in documents:
        corpus.update(doc.source.encode() + b"\0" + doc.text.encode() + b"\0")
    return corpus.hexdigest()


def _manifest(encoder: Encoder, documents: list[Document]) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "model": encoder.name,
        "dim": encoder.dim,
        "faiss_factory": FAISS_FACTORY,
        "metric": "inner_product",
        "tokenizer": tokenizer_name(),
        "normalizer": NORMALIZER_NAME,
        "chunking": {"max_chars": chunking.MAX_CHARS, "overlap_sentences": 1},
        "corpus_sha256": corpus_hash(documents),
        "documents": len(documents),
    }


def expected_manifest_keys(encoder: Encoder) -> dict:
    """The settings a loaded index must share with the running code and model."""
    return {
        "format_version": FORMAT_VERSION,
        "model": encoder.name,
        "tokenizer": tokenizer_name(),
        "normalizer": NORMALIZER_NAME,
        "faiss_factory": FAISS_FACTORY,
    }


def read_files(files: list[tuple[Path, str]], report: BuildReport) -> list[Document]:
    """The readable documents among (path, source name) pairs; the others are named in `report`."""
    documents = []
    for path, source in files:
        try:
            documents.append(read_document(path, source))
            report.indexed.append(source)
        except (IngestError, OSError) as exc:
            report.skipped.append(str(exc))
    return documents


def read_folder(folder: Path, report: BuildReport) -> list[Document]:
    """Every readable document under `folder`, named by its path relative to it."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    return read_files([(p, p.relative_to(folder).as_posix()) for p in paths], report)


def build(
    documents: list[Document], out: Path, encoder: Encoder, progress: bool = True, reuse: Index | None = None
) -> None:
    """Write a complete index for `documents` to `out`, replacing any index there only once it is whole.

    `reuse`, an index built with the same encoder, lends the vectors of texts it already embedded, so
    adding a few documents to a corpus embeds only the new ones.
    """
    if not documents:
        raise StoreError("no readable documents to index")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write(documents, tmp, encoder, progress, reuse.vector_cache() if reuse else {})
        _swap_into_place(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(documents: list[Document], tmp: Path, encoder: Encoder, progress: bool, known: dict) -> None:
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    for d, doc in enumerate(documents):
        doc_sentences = [Sentence(d, s.start, s.end, s.clean, s.section) for s in split_sentences(doc.text)]
        passages += chunking.chunk(doc_sentences, offset=len(sentences))
        sentences += doc_sentences
    if not passages:
        raise StoreError("the documents contain no sentences to index")
    passage_texts = [_passage_text(p, sentences, documents) for p in passages]
    passage_tokens = [bm25_terms(t) for t in tqdm(passage_texts, desc="tokenising", disable=not progress)]
    sentence_tokens = [tokenize(s.clean) for s in sentences]

    if progress:
        print(f"embedding {len(passages)} passages and {len(sentences)} sentences", file=sys.stderr)
    p_vec = _embed([normalize(t) for t in passage_texts], encoder, known, progress)
    s_vec = _embed([normalize(s.clean) for s in sentences], encoder, known, progress)
    dense = faiss.index_factory(p_vec.shape[1], FAISS_FACTORY, faiss.METRIC_INNER_PRODUCT)
    dense.add(p_vec)
    faiss.write_index(dense, str(tmp / "passages.faiss"))
    np.save(tmp / "sentence_vectors.npy", s_vec.astype(np.float16))

    sparse = bm25s.BM25(method="lucene")
    sparse.index([t or ["\0"] for t in passage_tokens], show_progress=False)
    sparse.save(str(tmp / "bm25"))

    _write_jsonl(tmp / "documents.jsonl", [asdict(d) for d in documents])
    rows = [asdict(s) | {"tokens": t, "norm": normalize(s.clean)} for s, t in zip(sentences, sentence_tokens)]
    _write_jsonl(tmp / "sentences.jsonl", rows)
    _write_jsonl(tmp / "passages.jsonl", [asdict(p) for p in passages])
    df = Counter(t for tokens in passage_tokens for t in set(tokens))
    idf = {t: math.log(1 + (len(passages) - n + 0.5) / (n + 0.5)) for t, n in df.items()}
    (tmp / "idf.json").write_text(json.dumps(idf, ensure_ascii=False), encoding="utf-8")
    # the manifest goes last: a directory without one is never taken for a finished index
    manifest = _manifest(encoder, documents)
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _embed(texts: list[str], encoder: Encoder, known: dict[str, np.ndarray], progress: bool) -> np.ndarray:
    """Passage-side vectors for `texts`, taking those already in `known` instead of encoding them again."""
    todo = sorted({t for t in texts if t not in known})
    if todo:
        known = known | dict(zip(todo, encoder.encode(todo, "passage", progress=progress)))
    return np.stack([known[t] for t in texts]).astype(np.float32)


def _passage_text(p: Passage, sentences: list[Sentence], documents: list[Document]) -> str:
    """What retrieval matches a passage on: its title and section, then its clean sentences."""
    doc = documents[p.doc]
    body = "".join(s.clean for s in sentences[p.first : p.last + 1])
    return f"{doc.title} {p.section}\n{body}"


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        if not (out / MANIFEST).exists() and any(out.iterdir()):
            raise StoreError(f"{out} exists and is not an index; choose another --out")
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Index:
    """A loaded index: documents, sentences, passages, and the dense and sparse searchers over passages."""

    def __init__(self, path: Path, encoder: Encoder):
        self.path = Path(path)
        self.encoder = encoder
        self.manifest = _check_manifest(self.path, encoder)
        try:
            self.documents = [Document(**row) for row in _read_jsonl(self.path / "documents.jsonl")]
            rows = _read_jsonl(self.path / "sentences.jsonl")
            self.sentence_tokens = [row.pop("tokens") for row in rows]
            self.sentence_norms: list[str] = [row.pop("norm") for row in rows]  # normalised once, at build
            self.sentences = [Sentence(**row) for row in rows]
            self.passages = [Passage(**row) for row in _read_jsonl(self.path / "passages.jsonl")]
            self.idf: dict[str, float] = json.loads((self.path / "idf.json").read_text(encoding="utf-8"))
            self.sentence_vectors = np.load(self.path / "sentence_vectors.npy").astype(np.float32)
            self._dense = faiss.read_index(str(self.path / "passages.faiss"))
            self._sparse = bm25s.BM25.load(str(self.path / "bm25"))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            why = f"index at {self.path} is damaged ({exc.__class__.__name__}); {_rebuild_hint(self.path)}"
            raise StoreError(why) from None
        if self._dense.ntotal != len(self.passages) or len(self.sentence_vectors) != len(self.sentences):
            raise StoreError(f"index at {self.path} is inconsistent; {_rebuild_hint(self.path)}")

    def vector_cache(self) -> dict[str, np.ndarray]:
        """Normalised text → vector for every passage and sentence, for `build(reuse=...)`."""
        texts = [normalize(_passage_text(p, self.sentences, self.documents)) for p in self.passages]
        cache = dict(zip(texts, self._dense.reconstruct_n(0, self._dense.ntotal)))
        cache.update(zip(self.sentence_norms, self.sentence_vectors))
        return cache

    def text(self, doc: int, start: int, end: int) -> str:
        """The original characters at a citation: what every quote must equal."""
        return self.documents[doc].text[start:end]

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Inner product of the query with every passage (FAISS, exact), in passage order."""
        n = len(self.passages)
        scores, ids = self._dense.search(query_vector.reshape(1, -1).astype(np.float32), n)
        out = np.zeros(n, dtype=np.float32)
        keep = ids[0] >= 0  # FAISS pads missing results with -1
        out[ids[0][keep]] = scores[0][keep]
        return out

    def sparse_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage for the query tokens (zeros when none is known)."""
        if not tokens:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self._sparse.get_scores(tokens), dtype=np.float32)


def _rebuild_hint(path: Path) -> str:
    return f"rebuild it with: qa index build SOURCE_FOLDER --out {path}"


def _check_manifest(path: Path, encoder: Encoder) -> dict:
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise StoreError(f"no index at {path} (no {MANIFEST}); build one with: qa index build FOLDER --out {path}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError(f"index manifest at {manifest_path} is unreadable; {_rebuild_hint(path)}") from None
    for key, want in expected_manifest_keys(encoder).items():
        got = manifest.get(key)
        if got != want:
            hint = f"; or ask with --model {got}" if key == "model" else ""
            raise StoreError(f"index at {path} was built with {key}={got!r}, not {want!r}; {_rebuild_hint(path)}{hint}")
    return manifest
