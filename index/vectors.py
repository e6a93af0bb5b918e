"""What a passage embeds (its title and section, then its sentences) and where the vectors go: passage vectors
by id, each sentence's from the first passage holding it, reused documents' vectors copied, identical
passages embedded once. Used by the build (index/builder.py) and the Ray build (index/cluster.py)."""

from __future__ import annotations

import sys

import numpy as np

from index.embed import encode_spans_separately
from index.normalizer import normalize
from index.types import TextEncoder


def passage_text(header: str, norms: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """What retrieval embeds for a passage (its title and section, then its sentences), and where each
    sentence lies in it."""
    text, spans = normalize(header), []
    for norm in norms:
        text += " " if not spans else ""
        spans.append((len(text), len(text) + len(norm)))
        text += norm
    return text, spans


def document_passage_texts(documents, norms: list[str], passages) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """What retrieval embeds for each passage (`passage_text`), with its sentences' spans in it."""
    pairs = [passage_text(f"{documents[p.doc].title} {p.section}", norms[p.first : p.last + 1]) for p in passages]
    return [t for t, _ in pairs], [s for _, s in pairs]


def embed_contents(texts, spans, c, encoder, progress: bool, pooled: bool, reuse, copied):
    """Passage vectors and sentence vectors (from the first passage holding each sentence).

    Reused documents' vectors are copied from `reuse`; identical new passages (one article in two versions
    of a regulation) are embedded once.
    """
    dim = reuse.passage_vectors.shape[1] if reuse is not None else encoder.dim
    passage_vectors = np.zeros((len(c.passages), dim), dtype=np.float32)
    sentence_vectors = np.zeros((len(c.sentences), dim), dtype=np.float32)
    done = np.zeros(len(c.passages), dtype=bool)
    for old_p, new_p, old_s, new_s in copied:
        passage_vectors[new_p : new_p + len(old_p)] = reuse.passage_vectors[old_p.start : old_p.stop]
        sentence_vectors[new_s : new_s + len(old_s)] = reuse.sentence_vectors[old_s.start : old_s.stop]
        done[new_p : new_p + len(old_p)] = True
    fresh = np.flatnonzero(~done)
    todo = list(dict.fromkeys(texts[i] for i in fresh))
    if not todo:
        return passage_vectors, sentence_vectors
    if progress:
        chars = sum(map(len, todo))
        print(f"embedding {len(todo)} passages ({chars:,} characters) on {_device(encoder)}", file=sys.stderr)
    where = {texts[i]: i for i in fresh}
    known = embed_passages(encoder, todo, [spans[where[t]] for t in todo], pooled, progress)
    place_vectors(
        [c.passages[i] for i in fresh], [texts[i] for i in fresh], known, fresh, passage_vectors, sentence_vectors
    )
    return passage_vectors, sentence_vectors


def embed_passages(encoder: TextEncoder, texts: list[str], spans, pooled: bool, progress: bool = False) -> dict:
    """Distinct passage text → (its vector, its sentences' vectors), for `texts` with their sentence spans."""
    # pooled needs an encoder that can pool (Encoder falls back by itself for models that cannot)
    pool = getattr(encoder, "encode_spans", None) if pooled else None
    if pool is not None:
        vectors, rows = pool(texts, spans, progress=progress)
    else:
        vectors, rows = encode_spans_separately(encoder, texts, spans, progress)
    return {t: (v, r) for t, v, r in zip(texts, vectors, rows)}


def place_vectors(passages, texts, known: dict, ids, passage_vectors: np.ndarray, sentence_vectors: np.ndarray):
    """Put each passage's vector at its id, and each sentence's from the first of them that holds it."""
    filled = np.zeros(len(sentence_vectors), dtype=bool)
    for i, p, text in zip(ids, passages, texts):
        passage_vectors[i] = known[text][0]
        rows = np.arange(p.first, p.last + 1)
        first_time = ~filled[rows]
        sentence_vectors[rows[first_time]] = known[text][1][first_time]
        filled[rows] = True


def _device(encoder) -> str:
    model = getattr(encoder, "model", None)
    return str(getattr(model, "device", "cpu"))
