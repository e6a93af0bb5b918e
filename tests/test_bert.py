"""The plain-torch encoder computes what sentence-transformers computes for the default model."""

from __future__ import annotations

import numpy as np
import pytest

from index.bert import BertEncoder
from index.e5model import prepare_default_model
from index.precision import resolve_precision
from qa.assistant import cache_root

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-4), ("bf16", 1e-3)])
def test_matches_sentence_transformers(precision: str, tolerance: float) -> None:
    """fp32 computes the same vectors; bf16 (emulated, slowly, on a CPU without it) within the quality rule."""
    from sentence_transformers import SentenceTransformer

    path = prepare_default_model(cache_root())
    texts = [
        "query: 天津农村特困人员分散供养每月多少钱?",
        "passage: 上海市基本公共服務“十四五”規劃,推進網際網路+托育。",
        "passage: " + "成都市城乡最低生活保障标准分别提高至700元、650元。" * 20,
        "query: 邛崃 ～ ① ㎡",
    ]
    ours = BertEncoder(path, precision=resolve_precision(precision)).encode(texts, batch_size=2)
    theirs = SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose((ours * theirs).sum(axis=1), 1.0, atol=tolerance)


def test_sentence_vectors_pooled_from_the_passage_pass() -> None:
    """Each sentence's pooled vector is nearest the same sentence encoded on its own, among its passage's."""
    from index.embed import Encoder

    encoder = Encoder(cache_root=cache_root())
    sentences = [
        "第二十条 业主委员会由五至十一名委员组成。",
        "委员应当由业主担任,任期五年。",
        "农村特困人员分散供养标准为每人每月1530元。",
    ]
    text = "上海市住宅物业管理规定 第三章 业主委员会 " + "".join(sentences)
    spans, at = [], len(text) - len("".join(sentences))
    for s in sentences:
        spans.append((at, at + len(s)))
        at += len(s)
    vectors, pooled = encoder.encode_spans([text], [spans])
    np.testing.assert_allclose(vectors[0] @ encoder.encode([text], "passage")[0], 1.0, atol=1e-4)
    alone = encoder.encode(sentences, "passage")
    similarity = pooled[0] @ alone.T
    assert pooled[0].shape == (3, 384) and np.allclose(np.linalg.norm(pooled[0], axis=1), 1.0, atol=1e-4)
    assert (similarity.argmax(axis=1) == np.arange(3)).all() and similarity.diagonal().min() > 0.8
