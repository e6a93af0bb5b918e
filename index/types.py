"""The data types that flow between stages: one per concept, frozen, with offsets into original text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

# How a sentence gets its vector: "pooled", from its passage's forward pass (the default: one pass per passage,
# builds ~1.7x faster, dev sentence hit@1 as good or better: docs/library.md); "own", each sentence encoded alone.
SENTENCE_VECTORS = ("pooled", "own")


@dataclass(frozen=True)
class Document:
    """A document as decoded from its file; `text` is the original every offset points into."""

    source: str  # file name relative to the folder it was built from
    title: str
    place: str  # "" when the document names none
    text: str
    version: str = ""  # the date in the file name (`…(2020-12-30).md`), "" when it has none
    origin: str = ""  # the file it was read from (absolute), "" when it came from no file
    digest: str = ""  # sha256 of that file's bytes: `qa index update` re-reads only files whose digest changed


@dataclass(frozen=True)
class DocumentInfo:
    """A document's entry in an index's catalogue: everything but its text."""

    source: str
    title: str
    place: str
    version: str
    name: str  # normalised title and subtitle: what a question names the document by
    chars: int
    first_passage: int
    passages: int
    origin: str
    digest: str


@dataclass(frozen=True)
class Sentence:
    """A whole sentence: `doc.text[start:end]` is its quoted text, `clean` its text for matching."""

    doc: int  # position of its document in the index
    start: int
    end: int
    clean: str  # the sentence with page markers and line wraps removed (never quoted)
    section: str


@dataclass(frozen=True)
class Passage:
    """Consecutive sentences of one section: the unit that retrieval ranks."""

    doc: int
    first: int  # index of its first sentence
    last: int  # index of its last sentence (inclusive)
    start: int
    end: int
    section: str


@dataclass(frozen=True)
class Hit:
    """One ranked item (passage or sentence) with its score."""

    item: int
    score: float


@dataclass(frozen=True)
class Segmented:
    """One document cut up, numbered from 0 as document 0: what segmentation makes and a new generation reuses."""

    sentences: list[Sentence]
    norms: list[str]  # each sentence's normalised text
    tokens: list[list[str]]  # each sentence's words
    passages: list[Passage]
    headers: list[list[str]]  # each passage's title-and-section words


class TextEncoder(Protocol):
    """What the index needs of a model: its name (recorded in the manifest; an index answers only with the model
    that built it), the vectors' width, and unit vectors for texts of a kind ("query" or "passage").

    `index.Encoder` (sentence-transformers or the bundled model) is the one that ships; the open-book harness
    wraps it with a memo, tests and benchmarks bring hashing ones. An encoder that also has
    `encode_spans(texts, spans, progress)` gives pooled sentence vectors from one pass; others are asked twice.
    """

    name: str
    dim: int

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray: ...
