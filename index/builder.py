"""Build an index from folders of documents: read, segment, chunk, tokenise, embed; the store writes it."""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index import chunk as chunking
from index import commit, store
from index.ingest import IngestError, read_document
from index.normalizer import NORMALIZER_NAME, normalize
from index.segment import split_sentences
from index.tokenizer import bigrams_normalized, tokenize_normalized, tokenizer_name
from index.types import SENTENCE_VECTORS, Document, Segmented, Sentence, TextEncoder
from index.vectors import document_passage_texts, embed_contents

PARALLEL_FROM = 200  # documents; fewer are segmented in this process (workers take seconds to start)


@dataclass
class BuildReport:
    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: reason"
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


def corpus_hash(documents: list[Document]) -> str:
    """Identifies a corpus by its file names and texts."""
    corpus = hashlib.sha256()
    for doc in documents:
        corpus.update(doc.source.encode() + b"\0" + doc.text.encode() + b"\0")
    return corpus.hexdigest()


def _hidden(relative: Path) -> bool:
    """A hidden file, or one in a hidden folder (.git, a library's .uploading-… staging folder)."""
    return any(part.startswith(".") for part in relative.parts)


def folder_files(folders: list[Path]) -> list[tuple[Path, str]]:
    """(path, source) of every file under `folders`; a source is relative to its own folder.

    Two folders holding the same relative name would make one source ambiguous: that is an error.
    """
    owner: dict[str, Path] = {}
    files = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise commit.StoreError(f"{folder} is not a folder of documents")
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder))):
            source = path.relative_to(folder).as_posix()
            if source in owner:
                raise commit.StoreError(f"two files would both be called {source!r}: {owner[source]} and {path}")
            owner[source] = path
            files.append((path, source))
    return files


def read_files(files: list[tuple[Path, str]], report: BuildReport, progress: bool = False) -> list[Document]:
    """The readable documents among (path, source name) pairs; the others are named in `report`."""
    documents = []
    for path, source in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 50):
        try:
            documents.append(read_document(path, source))
            report.indexed.append(source)
        except (IngestError, OSError) as exc:
            report.skipped.append(str(exc))
    return documents


def read_folder(folder: Path, report: BuildReport) -> list[Document]:
    """Every readable document under `folder`, named by its path relative to it."""
    return read_files(folder_files([folder]), report)


def build(
    documents: list[Document],
    out: Path,
    encoder: TextEncoder,
    progress: bool = True,
    reuse: store.Index | None = None,
    folders: list[Path] | None = None,
    report: BuildReport | None = None,
    sentence_vectors: str = SENTENCE_VECTORS[0],
    manifest: dict | None = None,
) -> None:
    """Write a complete index for `documents` to `out` and commit it; the index there until then stays whole.

    `sentence_vectors`: "pooled" (the default) takes each sentence's vector from its passage's forward pass;
    "own" encodes every sentence on its own as well (~1.7× the model's work; see index/types.py).

    `reuse`, an index built with the same encoder and settings, lends its segmentation and vectors to every
    document it holds with the same source and text, so changing a few documents embeds only those.
    `manifest` adds to (or overrides) what the manifest records.
    """
    if not documents:
        raise commit.StoreError("no readable documents to index")
    if sentence_vectors not in SENTENCE_VECTORS:
        raise commit.StoreError(
            f"unknown sentence vectors {sentence_vectors!r}; choose {' or '.join(SENTENCE_VECTORS)}"
        )
    with commit.locked(out):  # from the start: a bad --out or a running update fails now, not after the model
        _build(documents, out, encoder, progress, reuse, folders, report or BuildReport(), sentence_vectors, manifest)


def _build(documents, out, encoder, progress, reuse, folders, report, sentence_vectors, manifest) -> None:
    timings = report.timings
    t0 = time.perf_counter()
    reused = _reusable(documents, reuse)
    contents, copied = _segment(documents, progress, reuse, reused)
    if reuse is not None and _is_prefix(copied, len(reuse.passages)):
        contents.grows = reuse  # only documents were added: the approximate index takes the new vectors
    timings["segment_s"] = time.perf_counter() - t0
    if not contents.passages:
        raise commit.StoreError("the documents contain no sentences to index")
    t0 = time.perf_counter()
    texts, spans = document_passage_texts(contents.documents, contents.sentence_norms, contents.passages)
    contents.passage_vectors, contents.sentence_vectors = embed_contents(
        texts, spans, contents, encoder, progress, sentence_vectors == "pooled", reuse, copied
    )
    timings["embed_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    settings = build_manifest(encoder.name, contents, folders) | {"sentence_vectors": sentence_vectors}
    write_index(contents, texts, out, settings | precision_record(encoder) | (manifest or {}))
    timings["write_s"] = time.perf_counter() - t0


def write_index(contents: store.Contents, texts: list[str], out: Path, manifest: dict) -> None:
    """Hand the embedded contents to the store; a passage's BM25 terms are its words and character bigrams."""
    c = contents
    c.passage_terms = [
        c.passage_headers[i]
        + [t for s in range(p.first, p.last + 1) for t in c.sentence_tokens[s]]
        + bigrams_normalized(text)
        for i, (p, text) in enumerate(zip(c.passages, texts))
    ]
    store.write(contents, out, manifest)


def _reusable(documents: list[Document], reuse: store.Index | None) -> dict[int, int]:
    """Position of each document `reuse` holds unchanged → its id there (the same file bytes, else the same text)."""
    if reuse is None:
        return {}
    found = {d: reuse.by_source(doc.source) for d, doc in enumerate(documents)}
    return {d: old for d, old in found.items() if old is not None and _unchanged(reuse, old, documents[d])}


def _unchanged(reuse: store.Index, old: int, doc: Document) -> bool:
    info = reuse.catalog[old]
    if info.chars != len(doc.text):
        return False
    return (bool(doc.digest) and info.digest == doc.digest) or reuse.documents[old].text == doc.text


def _segment(documents: list[Document], progress: bool, reuse: store.Index | None, reused: dict[int, int]):
    """Sentences, passages and their tokens; passage terms start as the header's and sentences' words.

    Documents `reuse` holds come from it as they are; a library is segmented in worker processes (one per
    core), a few documents in this one. Also returns, per reused document, its passage and sentence id
    ranges in `reuse` and where they start here.
    """
    fresh = [doc for d, doc in enumerate(documents) if d not in reused]
    if len(fresh) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        # fork: workers need no re-import, and a script without a __main__ guard can call build() (spawn
        # would re-run it); they only run jieba, OpenCC and regexes, never the model's threads they inherit
        start = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context(start))
        parts = pool.map(segment_document, fresh, chunksize=16)
    else:
        pool, parts = None, map(segment_document, fresh)
    copied = []  # (old passage ids, first new passage id, old sentence ids, first new sentence id)
    every, n_passages, n_sentences = [], 0, 0
    bar = tqdm(range(len(documents)), desc="segmenting", unit="doc", disable=not progress or len(fresh) < 50)
    for d in bar:
        if d in reused:
            rows, old_sentences, old_passages = reuse.document_rows(reused[d])
            copied.append((old_passages, n_passages, old_sentences, n_sentences))
            every.append(rows)
        else:
            every.append(next(parts))
        n_sentences, n_passages = n_sentences + len(every[-1].sentences), n_passages + len(every[-1].passages)
    if pool is not None:
        pool.shutdown()
    return assemble(documents, every), copied


def _is_prefix(copied, old_passages: int) -> bool:
    """Whether the reused documents' passages keep their ids, all of them: the new passages only follow."""
    return sum(len(old) for old, *_ in copied) == old_passages and all(old.start == new for old, new, *_ in copied)


def assemble(documents: list[Document], parts: list[Segmented]) -> store.Contents:
    """One index's rows from each document's segmentation, in order."""
    c = store.Contents(documents, [], [], [], [], [], np.zeros(0), np.zeros(0))
    for d, part in enumerate(parts):
        base = len(c.sentences)
        c.sentences += [replace(s, doc=d) for s in part.sentences]
        c.passages += [replace(x, doc=d, first=x.first + base, last=x.last + base) for x in part.passages]
        c.sentence_norms += part.norms
        c.sentence_tokens += part.tokens
        c.passage_headers += part.headers
    return c


def segment_document(doc: Document) -> Segmented:
    """One document's sentences (numbered from 0), their normalised text and words, its passages and their words."""
    sentences = [Sentence(0, s.start, s.end, s.clean, s.section) for s in split_sentences(doc.text)]
    norms = [normalize(s.clean) for s in sentences]
    tokens = [tokenize_normalized(n) for n in norms]
    passages = chunking.chunk(sentences, offset=0)
    header = functools.lru_cache(maxsize=None)(lambda section: tokenize_normalized(normalize(f"{doc.title} {section}")))
    return Segmented(sentences, norms, tokens, passages, [header(p.section) for p in passages])


def precision_record(encoder) -> dict:
    """What the vectors were computed in (answering may run in another: the stored vectors are float16 either way)."""
    precision = getattr(encoder, "precision", None)
    return {"precision": precision.passage_pass, "precision_reason": precision.reason} if precision else {}


def build_manifest(model: str, contents: store.Contents, folders: list[Path] | None) -> dict:
    """What the manifest records of how an index was built (the store adds counts and its own keys)."""
    return {
        "model": model,
        "dim": int(contents.passage_vectors.shape[1]),
        "metric": "inner_product",
        "tokenizer": tokenizer_name(),
        "normalizer": NORMALIZER_NAME,
        "chunking": {"max_chars": chunking.MAX_CHARS, "overlap_sentences": 1},
        "corpus_sha256": corpus_hash(contents.documents),
        "folders": [os.path.abspath(f) for f in folders or []],
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
