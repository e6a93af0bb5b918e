"""Dense search: the FAISS index of the passage vectors, how it is built (exact Flat up to EXACT_LIMIT passages,
HNSW above) and searched. Written and opened by the store (index/store.py), the only owner of the files."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

EXACT_LIMIT = 20_000  # passages; a larger corpus gets an approximate (HNSW) index
HNSW = "HNSW32"
EF_CONSTRUCTION = 200  # the whole library (177k passages, 998 real questions): recall@10 0.984 at efSearch 512,
EF_SEARCH = 1024  # 0.9953 at 1024 (3.6 ms), 0.9984 at 2048; built with 80 it was 0.954 at 512, 0.978 at 1024


def faiss_factory(passages: int) -> str:
    return "Flat" if passages <= EXACT_LIMIT else HNSW


def write_vectors(c, tmp: Path) -> str:
    """Write the passage and sentence vectors (float16) and the FAISS index of the passages; the factory used."""
    np.save(tmp / "passage_vectors.npy", c.passage_vectors.astype(np.float16))
    np.save(tmp / "sentence_vectors.npy", c.sentence_vectors.astype(np.float16))
    factory = faiss_factory(len(c.passages))
    done = 0
    if c.grows is not None and factory != "Flat":  # an approximate index grows; Flat is rebuilt in no time
        index = faiss.read_index(str(c.grows.files / "passages.faiss"))
        same = isinstance(index, faiss.IndexHNSW) and index.ntotal == len(c.grows.passages)
        done = index.ntotal if same and index.hnsw.efConstruction >= EF_CONSTRUCTION else 0  # else a better graph
    if not done:
        index = faiss.index_factory(c.passage_vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        if factory != "Flat":
            index.hnsw.efConstruction = EF_CONSTRUCTION
    # the float16 values stored beside it, so that search and exact rescoring see the same vectors
    index.add(np.ascontiguousarray(c.passage_vectors[done:].astype(np.float16), dtype=np.float32))
    faiss.write_index(index, str(tmp / "passages.faiss"))
    return factory


def search(index, query_vector: np.ndarray, k: int, among: np.ndarray | None = None) -> np.ndarray:
    """Ids of the `k` passages FAISS finds nearest the query (only `among` these ids when given), best first."""
    params = None
    if isinstance(index, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW(efSearch=max(EF_SEARCH, k))
    if among is not None:
        selector = faiss.IDSelectorBatch(among.astype(np.int64))
        params = params or faiss.SearchParameters()
        params.sel = selector
    _, ids = index.search(query_vector.reshape(1, -1).astype(np.float32), k, params=params)
    return ids[0][ids[0] >= 0]  # FAISS pads missing results with -1


def float_rows(index) -> np.ndarray | None:
    """The index's own float32 copy of the vectors, as read-only rows (no copy); None when it keeps none."""
    flat = index.storage if isinstance(index, faiss.IndexHNSW) else index
    flat = faiss.downcast_index(flat)
    if isinstance(flat, faiss.IndexFlat) and flat.ntotal:
        view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
        view.flags.writeable = False
        return view
    return None
