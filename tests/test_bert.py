"""The plain-torch encoder computes what sentence-transformers computes for the default model."""

from __future__ import annotations

import numpy as np
import pytest

from index.bert import BertEncoder
from index.e5model import prepare_default_model
from qa.assistant import cache_root

pytestmark = pytest.mark.slow


def test_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    path = prepare_default_model(cache_root())
    texts = [
        "query: 天津农村特困人员分散供养每月多少钱?",
        "passage: 上海市基本公共服務“十四五”規劃,推進網際網路+托育。",
        "passage: " + "成都市城乡最低生活保障标准分别提高至700元、650元。" * 20,
        "query: 邛崃 ～ ① ㎡",
    ]
    ours = BertEncoder(path).encode(texts, batch_size=2)
    theirs = SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose((ours * theirs).sum(axis=1), 1.0, atol=1e-4)
