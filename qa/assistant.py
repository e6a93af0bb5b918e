"""The one entry point the CLI, the chat and evaluation share: `Assistant.answer(question, history)`."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from index import (
    DEFAULT_MODEL_NAME,
    SENTENCE_VECTORS,
    BuildReport,
    Change,
    Encoder,
    Index,
    StoreError,
    TextEncoder,
    build,
    cache_root,
    commit_stamp,
    corpus_hash,
    folder_files,
    prepare_default_model,
    read_files,
    read_folder,
    resolve_precision,
    update,
)
from qa.articles import article_answer
from qa.cite import passage_quote, sentence_quote
from qa.conversation import needs_history, resolve
from qa.question import BadQuestion, Question, check, parse
from qa.read import Reader
from qa.reader_model import Model
from qa.rerank import CrossEncoder
from qa.retrieve import Retriever
from qa.searchers import searchers
from qa.types import Answer

DEFAULT_CORPUS = Path(str(resources.files("qa") / "data" / "corpus"))
PASSAGES = 5


def default_index_path(model: str = DEFAULT_MODEL_NAME) -> Path:
    """Where the default corpus's index lives for a model (one per model, so switching never clobbers)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    return cache_root() / "indexes" / f"default-{safe}"


def build_folder(
    folders: Path | list[Path],
    out: Path,
    encoder: TextEncoder,
    progress: bool = True,
    sentence_vectors: str = SENTENCE_VECTORS[0],
) -> BuildReport:
    """Index every readable document in `folders` (one or several) into `out`; name the files skipped."""
    folders = [Path(f) for f in (folders if isinstance(folders, list | tuple) else [folders])]
    report = BuildReport()
    t0 = time.perf_counter()
    documents = read_files(folder_files(folders), report, progress=progress)
    report.timings["read_s"] = time.perf_counter() - t0
    if not documents:
        why = "; ".join(report.skipped[:5]) or "it is empty"
        raise StoreError(f"no readable documents in {', '.join(map(str, folders))} ({why})")
    build(documents, out, encoder, progress, folders=folders, report=report, sentence_vectors=sentence_vectors)
    return report


class Assistant:
    """Answers questions about one index, quoting its documents."""

    def __init__(
        self,
        index_path: Path | None = None,
        model: str = DEFAULT_MODEL_NAME,
        fusion: str = "convex",
        passages: int = PASSAGES,
        progress: bool = True,
        encoder: TextEncoder | None = None,
        precision: str = "auto",
        reader: Callable[[Index], Reader] | None = None,
    ):
        """`fusion` names the retrieval method (`qa.searchers.METHODS`); `reader` makes the reader of an index
        (default: the fitted reader with the reranker)."""
        self.model = model if encoder is None else encoder.name
        self.index_path = Path(index_path) if index_path else None
        self.fusion = fusion
        self.passages = passages
        self.progress = progress
        self._encoder = encoder or Encoder(model, cache_root=cache_root(), precision=precision)
        self._engine: tuple[Index, Retriever, Reader] | None = None
        self._stamp = None
        self._opening = threading.Lock()
        self._reader_model = Model.load() if reader is None else None  # a reader of its own brings its model
        self._cross: CrossEncoder | None = None
        self._reader = reader or (lambda index: Reader(index, self._reader_model, self._reranker()))

    @property
    def precision(self):
        """What the question encoder's (and reader's) model passes run in, and why."""
        return getattr(self._encoder, "precision", None) or resolve_precision("auto")

    def warm_up(self) -> None:
        """Load (building the default index on first use) the index and model; once, however many ask at once."""
        if self._engine is not None:
            return
        with self._opening:
            if self._engine is not None:
                return
            if self.index_path is not None:
                stamp = commit_stamp(self.index_path)  # read first: a commit landing while it opens is seen later
                index = Index(self.index_path, self._encoder)
            else:
                index = self._default_index()  # our own cache: nothing else commits to it
                stamp = commit_stamp(index.path)
            self._encoder.encode(["预热"], "query")  # load the model now, not inside the first question
            self._open(index, stamp)

    def _open(self, index: Index, stamp) -> None:
        """Answer from `index` from now on; `stamp` is the commit read before it was opened, so a commit landing
        while it opened is seen by the next question."""
        self._engine = (index, Retriever(index, searchers(index, self.fusion)), self._reader(index))
        self._stamp = stamp  # after the engine: a question that sees this stamp answers from this index

    def _reranker(self) -> CrossEncoder | None:
        """The reranker the fitted reader combines with its first stage (none when it was fitted without one),
        loaded once; it shares the bundled model's embedding table with the question encoder."""
        if self._cross is None and self._reader_model.rerank:
            encoder = getattr(self._encoder, "model", None) if self.model == DEFAULT_MODEL_NAME else None
            shared = getattr(encoder, "w", None)
            model_dir = prepare_default_model(cache_root())
            self._cross = CrossEncoder.load(model_dir, shared, precision=self.precision)
        return self._cross

    def _current(self) -> tuple[Index, Retriever, Reader]:
        """The index as last committed: an update committed since the last question is opened here, and
        questions already answering from the previous one finish with it (its files stay until the next)."""
        self.warm_up()
        index = self._engine[0]
        if commit_stamp(index.path) != self._stamp:
            with self._opening:
                stamp = commit_stamp(index.path)
                if stamp != self._stamp:
                    self._open(Index(index.path, self._encoder), stamp)
        return self._engine

    def with_documents(self, files: list[Path], out: Path, progress: bool = True) -> tuple[Assistant, BuildReport]:
        """A new assistant over this index's documents plus `files`, built into `out`; this one is untouched.

        Only the new files are embedded; a bad file is named in the report and skipped.
        """
        report = BuildReport()
        added = read_files([(Path(f), Path(f).name) for f in files], report)
        if added:
            taken = {d.source for d in added}
            kept = [d for d in self.index.documents if d.source not in taken]
            build(kept + added, out, self._encoder, progress=progress, reuse=self.index)
        path = out if added else self.index.path
        return Assistant(
            path, fusion=self.fusion, passages=self.passages, progress=progress, encoder=self._encoder
        ), report

    def add_documents(self, files: list[tuple[Path, str]]) -> Change:
        """Add or replace (file, source) documents in this assistant's own index, committed atomically: the
        next question sees them, questions already answering finish with the commit they started on."""
        return update.add(self._own_index(), files, self._encoder, progress=False)

    def remove_documents(self, sources: list[str]) -> Change:
        """Remove documents by source from this assistant's own index, committed atomically."""
        return update.remove(self._own_index(), sources, self._encoder, progress=False)

    def _own_index(self) -> Path:
        if self.index_path is None:
            raise StoreError("the built-in documents cannot be changed; serve your own index: qa serve --index DIR")
        return self.index_path

    def _default_index(self) -> Index:
        """The built-in corpus's index: built on first use, rebuilt when the corpus, this version or the precision
        its passages are embedded in here changes (so it answers as a fresh install does)."""
        path = default_index_path(self.model)
        report = BuildReport()
        documents = read_folder(DEFAULT_CORPUS, report)
        try:
            index = Index(path, self._encoder)
            wanted = {"corpus_sha256": corpus_hash(documents), "sentence_vectors": SENTENCE_VECTORS[0]}
            wanted["precision"] = getattr(getattr(self._encoder, "precision", None), "passage_pass", None)
            if {k: index.manifest.get(k) for k in wanted} == wanted:  # as a fresh install builds it here
                return index
        except StoreError:
            pass  # missing, or from an older version of this program: it is our cache, so rebuild it
        if self.progress:
            print(f"building the index of the built-in documents in {path} (first use only)", file=sys.stderr)
        build(documents, path, self._encoder, progress=self.progress)
        return Index(path, self._encoder)

    @property
    def index(self) -> Index:
        return self._current()[0]

    def answer(
        self, question: str, history: list[str] | None = None, place: str | None = None, source: str | None = None
    ) -> Answer:
        """Answer one question (completed from `history`, oldest first), quoting the documents."""
        return self.answer_batch([(question, history or [])], place=place, source=source)[0]

    def answer_batch(
        self, items: list[tuple[str, list[str]]], place: str | None = None, source: str | None = None
    ) -> list[Answer]:
        """Answer several questions; each is checked first, so a bad one raises before any work."""
        checked = []
        for text, history in items:
            question, history = parse(check(text)), [h.strip() for h in history if isinstance(h, str) and h.strip()]
            if not history and needs_history(question):
                raise BadQuestion(
                    f"「{question.text}」是追问，但前面没有问题 (a follow-up with no question before it): "
                    "请问完整的问题，例如 上海的低保标准是多少?"
                )
            checked.append((question, history))
        return [self._answer(q, h, place, source) for q, h in checked]

    def _answer(self, asked: Question, history: list[str], place: str | None, source: str | None) -> Answer:
        index, retriever, reader = self._current()  # one commit of the index for the whole question
        t0 = time.perf_counter()
        question = self._understand(retriever, resolve(asked, history), source)
        vector = self._encoder.encode([question.norm], "query")[0]
        t1 = time.perf_counter()
        hits = retriever.retrieve(question, vector, max(self.passages, 10), place=place, source=source)
        t2 = time.perf_counter()
        names = question.names
        if names.article is not None and names.titled:  # "…条例第二十条规定了什么": that article answers
            chosen, hits = article_answer(index, list(names.titled), names.article, hits)
            confidence = 1.0 if chosen else 0.0
        else:
            chosen, confidence = reader.answers(question, reader.read(question, vector, hits[: self.passages]))
        t3 = time.perf_counter()
        timings = {"encode_ms": (t1 - t0) * 1e3, "retrieve_ms": (t2 - t1) * 1e3, "read_ms": (t3 - t2) * 1e3}
        return Answer(
            question=asked.text,
            resolved=question.norm,
            answered=bool(chosen),
            sentences=[sentence_quote(index, retriever.versions, x.sentence, x.score) for x in chosen],
            passages=[passage_quote(index, retriever.versions, h) for h in hits[: self.passages]],
            kind=question.kind,
            confidence=round(confidence, 4),
            timings=timings,
            asked=question,
        )

    @staticmethod
    def _understand(retriever: Retriever, question: Question, source: str | None) -> Question:
        """The question as completed from the conversation, with what it names in this index: the one
        record every later step reads."""
        return question.named(retriever.names(question, source))

    def candidates(self, text: str, history: list[str] | None = None, source: str | None = None) -> Candidates:
        """The reader's candidate sentences for a question with their feature rows: what `training/reader.py`
        fits the reader on."""
        index, retriever, reader = self._current()
        question = self._understand(retriever, resolve(parse(check(text)), history or []), source)
        vector = self._encoder.encode([question.norm], "query")[0]
        hits = retriever.retrieve(question, vector, max(self.passages, 10), source=source)
        ids, x = reader.candidates(question, vector, hits[: self.passages])
        texts = []
        for s in ids:
            sentence = index.sentences[s]
            texts.append((index.catalog[sentence.doc].source, index.text(sentence.doc, sentence.start, sentence.end)))
        fits = [reader.can_answer(question, s) for s in ids]
        return Candidates(question.norm, texts, x, fits, [reader.before(s) for s in ids])


@dataclass(frozen=True)
class Candidates:
    """A question's candidate sentences, as the reader sees them."""

    question: str  # the question as searched (completed from the conversation), normalised
    texts: list[tuple[str, str]]  # each sentence's (source, original text)
    x: np.ndarray  # their `FEATURES` rows
    fits: list[bool]  # whether each can answer the question's kind (a figure for 多少…)
    befores: list[str]  # the sentence before each in its document, normalised (what a reranker may read too)
