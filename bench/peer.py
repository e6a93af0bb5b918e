"""The LangChain stack that Chinese knowledge-base apps build on, shared by the benchmarks in bench/.

    python -m bench.peer build FOLDER OUT [--device cpu]    # what bench/build.py times, in its own process

It indexes every .md file under FOLDER the usual way: RecursiveCharacterTextSplitter (250 characters,
overlap 50, Chinese sentence separators), FAISS over the same sentence-transformers model as ours with e5's
prompts, and a jieba BM25Retriever; both are written to OUT (FAISS's save_local; BM25's index and chunks pickled).
The last stdout line is `PEER_RESULT {json}` with the counts and per-stage seconds.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
import warnings
from pathlib import Path

from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parents[1]
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", ""]
CHUNK_SIZE, CHUNK_OVERLAP = 250, 50
BATCH_SIZE = 32
RESULT_PREFIX = "PEER_RESULT "


class E5Embeddings(Embeddings):
    """HuggingFaceEmbeddings with e5's prompts: it passes one set of encode_kwargs to both sides, so a
    separate query prompt needs this thin subclass of LangChain's interface around the same model."""

    def __init__(self, model, progress: bool = False):
        self.model = model
        self.progress = progress

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts, "passage: ", self.progress)

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query: ", False)[0]

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> list[list[float]]:
        texts = [prompt + t.replace("\n", " ") for t in texts]  # newline handling as HuggingFaceEmbeddings
        vectors = self.model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=progress)
        return vectors.tolist()


def splitter():
    """LangChain's RecursiveCharacterTextSplitter as Chinese knowledge-base apps configure it."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(separators=SEPARATORS, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)


def same_model(device: str | None = "cpu"):
    """Our default model, loaded the way LangChain loads models: through sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    from index.e5model import prepare_default_model
    from qa.assistant import cache_root

    return SentenceTransformer(str(prepare_default_model(cache_root())), device=device)


def reranking(retriever, device: str | None = "cpu"):
    """The retriever followed by a 12-layer cross-encoder over its candidates, as QAnything or Langchain-Chatchat
    users add for quality: here the bundled model's full depth as a sentence-transformers CrossEncoder (its
    head untrained: this is for timing, and e5-small is smaller than the usual bge-reranker-base)."""
    import logging

    from sentence_transformers import CrossEncoder

    from index.e5model import prepare_default_model
    from qa.assistant import cache_root

    logging.getLogger("transformers").setLevel(logging.ERROR)  # "newly initialized" head: expected here
    reranker = CrossEncoder(str(prepare_default_model(cache_root())), num_labels=1, device=device)

    def invoke(question: str) -> list:
        docs = retriever.invoke(question)
        scores = reranker.predict([(question, d.page_content) for d in docs])
        return [d for _, d in sorted(zip(scores, docs), key=lambda x: -x[0])]

    return invoke


def read_documents(folder: Path) -> list:
    """Every .md file under `folder` (utf-8), one Document each, its path relative to `folder` as source."""
    from langchain_core.documents import Document

    paths = sorted(folder.rglob("*.md"))
    return [Document(p.read_text(encoding="utf-8"), metadata={"source": str(p.relative_to(folder))}) for p in paths]


def build(folder: Path, out: Path, device: str | None) -> dict:
    """Split, embed into FAISS, fit BM25; save both under `out`. Returns counts and seconds per stage."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import jieba
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS

    seconds, t0 = {}, time.perf_counter()
    model = same_model(device)
    docs = read_documents(folder)
    seconds["load"], t0 = time.perf_counter() - t0, time.perf_counter()
    chunks = splitter().split_documents(docs)
    seconds["split"], t0 = time.perf_counter() - t0, time.perf_counter()
    FAISS.from_documents(chunks, E5Embeddings(model, progress=True)).save_local(str(out))
    seconds["faiss"], t0 = time.perf_counter() - t0, time.perf_counter()
    bm25 = BM25Retriever.from_documents(chunks, preprocess_func=jieba.lcut)
    # jieba.lcut is bound to a tokenizer holding a lock, which pickle refuses: store the fitted BM25 and the
    # chunks, from which BM25Retriever(vectorizer=..., docs=..., preprocess_func=jieba.lcut) is rebuilt
    (out / "bm25.pkl").write_bytes(pickle.dumps({"vectorizer": bm25.vectorizer, "docs": bm25.docs}))
    seconds["bm25"] = time.perf_counter() - t0
    return {"documents": len(docs), "chunks": len(chunks), "stage_seconds": seconds}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="index FOLDER's .md files into OUT with the LangChain stack")
    b.add_argument("folder", type=Path)
    b.add_argument("out", type=Path)
    b.add_argument("--device", default="cpu", help="torch device for the model (default cpu, as bench/speed.py)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    result = build(args.folder, args.out, args.device)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
