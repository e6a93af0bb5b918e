"""Build an index on Ray (the optional `cluster` extra) when one machine is not enough.

A Ray Data pipeline: the driver reads the files' bytes, tasks parse and segment them in parallel, an actor
pool embeds them (one model per actor, a GPU each when the cluster has GPUs), and the driver gathers the
documents in file order and hands them to the same store as the plain build, so both give the same index.
"""

from __future__ import annotations

import os
import pickle
import re
import threading
import time
from pathlib import Path

import numpy as np

from index import commit
from index.builder import (
    BuildReport,
    assemble,
    build_manifest,
    folder_files,
    segment_document,
    write_index,
)
from index.embed import Encoder, cache_root
from index.ingest import IngestError, parse_document
from index.types import SENTENCE_VECTORS
from index.vectors import document_passage_texts, embed_passages, place_vectors

CONNECT_TIMEOUT_S = 45  # the issue allows 60 s to say an address cannot be reached
CPU_BATCH = 8  # documents per embedding call on CPU (a GPU actor takes GPU_BATCH)
GPU_BATCH = 256


def build_on_ray(
    folders: list[Path],
    out: Path,
    model: str,
    address: str = "local",
    device: str = "auto",
    sentence_vectors: str = SENTENCE_VECTORS[0],
    num_cpus: int | None = None,
) -> BuildReport:
    """Index the files under `folders` into `out` on Ray: a local one (`address="local"`, `num_cpus` of
    this machine's cores) or the cluster at `address` (`ray://head:10001`)."""
    if sentence_vectors not in SENTENCE_VECTORS:
        raise commit.StoreError(
            f"unknown sentence vectors {sentence_vectors!r}; choose {' or '.join(SENTENCE_VECTORS)}"
        )
    ray = _import_ray()
    report = BuildReport()
    t0 = time.perf_counter()
    files = folder_files(folders)
    if not files:
        raise commit.StoreError(f"no files in {', '.join(map(str, folders))}")
    with commit.locked(out):
        rows = _run_on_ray(ray, address, num_cpus, files, model, device, sentence_vectors == "pooled", out)
        report.timings["ray_s"] = time.perf_counter() - t0
        _write(rows, folders, out, model, sentence_vectors, report)
    return report


def _run_on_ray(ray, address, num_cpus, files, model, device, pooled, out) -> list[dict]:
    started = _connect(ray, address, num_cpus)
    try:
        return _run_pipeline(ray, files, model, device, pooled)
    except ray.exceptions.RayError as exc:
        raise RuntimeError(f"the Ray build failed ({_root_cause(exc)}); {out} is as it was") from None
    finally:
        if started:
            ray.shutdown()


def _write(rows: list[dict], folders, out: Path, model: str, sentence_vectors: str, report: BuildReport) -> None:
    """Gather the rows in file order into one index, as the plain build writes it."""
    t0 = time.perf_counter()
    documents, parts, vectors = [], [], []
    for row in sorted(rows, key=lambda r: r["order"]):
        if row["error"]:
            report.skipped.append(row["error"])
            continue
        document, segmented, passage_vectors, sentence_rows = pickle.loads(row["payload"])
        documents.append(document)
        parts.append(segmented)
        vectors.append((passage_vectors, sentence_rows))
        report.indexed.append(document.source)
    if not documents:
        raise commit.StoreError(f"no readable documents in {', '.join(map(str, folders))}")
    contents = assemble(documents, parts)
    if not contents.passages:
        raise commit.StoreError("the documents contain no sentences to index")
    contents.passage_vectors = np.concatenate([p for p, _ in vectors])
    contents.sentence_vectors = np.concatenate([s for _, s in vectors])
    texts = [_passage_texts(doc, part)[0] for doc, part in zip(documents, parts)]
    settings = build_manifest(model, contents, folders) | {"sentence_vectors": sentence_vectors}
    write_index(contents, [t for doc_texts in texts for t in doc_texts], out, settings | {"built_on": "ray"})
    report.timings["write_s"] = time.perf_counter() - t0


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RuntimeError("--ray needs Ray: pip install -e '.[cluster]' (or pip install 'ray[data]')") from None
    return ray


def _connect(ray, address: str, num_cpus: int | None) -> bool:
    """Join the cluster at `address`, or start a local Ray; True when this call started it."""
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": "ERROR"}
    if address == "local":
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, **quiet)
        return True
    # ray.init retries an unreachable address for minutes: wait for it in a thread that cannot hold up exit
    outcome: list[BaseException | None] = []
    attempt = threading.Thread(target=lambda: outcome.append(_try(ray.init, address=address, **quiet)), daemon=True)
    attempt.start()
    attempt.join(CONNECT_TIMEOUT_S)
    if not outcome:
        raise RuntimeError(f"no Ray cluster answered at {address} within {CONNECT_TIMEOUT_S}s; no index written")
    if outcome[0] is not None:  # Ray raises ConnectionError, ValueError or its own types for a bad address
        raise RuntimeError(f"cannot reach the Ray cluster at {address} ({_first_line(outcome[0])}); no index written")
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _try(call, **kwargs) -> BaseException | None:
    try:
        call(**kwargs)
    except Exception as exc:
        return exc
    return None


def _root_cause(exc: BaseException) -> str:
    """The innermost error Ray wrapped (a task's or actor's own exception), as its last traceback line."""
    lines = [line.strip() for line in str(exc).splitlines()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line) and not line.startswith("ray.")]
    return errors[0] if errors else exc.__class__.__name__


def _run_pipeline(ray, files: list[tuple[Path, str]], model: str, device: str, pooled: bool) -> list[dict]:
    items = [{"order": i, "path": str(path), "source": source, "data": path.read_bytes()}
             for i, (path, source) in enumerate(files)]  # fmt: skip
    gpus = int(ray.cluster_resources().get("GPU", 0)) if device != "cpu" else 0
    cpus = int(ray.cluster_resources().get("CPU", 1))
    if device == "cuda" and not gpus:
        raise RuntimeError("--device cuda: the Ray cluster has no GPU; use --device cpu or auto")
    # one actor per GPU; on CPUs one per core once parsing no longer needs them (each runs one torch thread)
    pool = ray.data.ActorPoolStrategy(size=gpus) if gpus else ray.data.ActorPoolStrategy(min_size=1, max_size=cpus)
    actor = {"num_gpus": 1, "batch_size": GPU_BATCH} if gpus else {"num_cpus": 1, "batch_size": CPU_BATCH}
    dataset = ray.data.from_items(items, override_num_blocks=min(len(items), max(cpus * 4, 1)))
    # Ray Data retries a task, and restarts an actor, whose worker process died; our own errors are not retried
    segmented = dataset.map(_parse_and_segment)
    embedded = segmented.map_batches(
        _Embedder,
        fn_constructor_args=(model, "cuda" if gpus else "cpu", pooled),
        batch_format="pandas",
        compute=pool,
        **actor,
    )
    return list(embedded.iter_rows())


def _parse_and_segment(row: dict) -> dict:
    """A Ray task: one file's bytes → its document and segmentation (pickled), or the reason it is skipped."""
    out = {"order": row["order"], "error": "", "payload": b""}
    try:
        document = parse_document(row["data"], Path(row["path"]), row["source"])
    except IngestError as exc:
        out["error"] = str(exc)
        return out
    out["payload"] = pickle.dumps((document, segment_document(document)))
    return out


class _Embedder:
    """A Ray actor: loads the model once, then embeds the passages and sentences of a batch of documents."""

    def __init__(self, model: str, device: str, pooled: bool):
        self.encoder = Encoder(model, cache_root=cache_root(), device=device)
        self.pooled = pooled

    def __call__(self, batch):
        loaded = [pickle.loads(p) if p else None for p in batch["payload"]]
        texts = [_passage_texts(*item) if item is not None else ([], []) for item in loaded]
        spans = {t: span for doc_texts, doc_spans in texts for t, span in zip(doc_texts, doc_spans)}
        known = embed_passages(self.encoder, list(spans), list(spans.values()), self.pooled) if spans else {}
        payloads = []
        for item, (doc_texts, _) in zip(loaded, texts):
            if item is None:
                payloads.append(b"")
                continue
            document, segmented = item
            passages = segmented.passages
            passage_vectors = np.zeros((len(passages), self.encoder.dim), dtype=np.float32)
            sentence_vectors = np.zeros((len(segmented.sentences), self.encoder.dim), dtype=np.float32)
            place_vectors(passages, doc_texts, known, range(len(passages)), passage_vectors, sentence_vectors)
            payloads.append(pickle.dumps((document, segmented, passage_vectors, sentence_vectors)))
        batch = batch.drop(columns=["payload"])
        batch["payload"] = payloads
        return batch


def _passage_texts(document, segmented) -> tuple[list[str], list[list[tuple[int, int]]]]:
    return document_passage_texts([document], segmented.norms, segmented.passages)  # its own: doc 0
