"""The everyday-wording list (qa/data/everyday_words.txt): every entry is used by questions and names document words."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.question import everyday_words, parse

ROOT = Path(__file__).resolve().parents[1]
LAWS = ROOT.parent / "shared" / "laws"
CORPUS = ROOT / "qa" / "data" / "corpus"


def _library_text() -> str | None:
    if not LAWS.is_dir():
        return None
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(LAWS.rglob("*.md")))


@pytest.fixture(scope="module")
def library() -> str:
    text = _library_text()
    if text is None:
        pytest.skip("../shared/laws is not here")
    corpus = "\n".join(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt"))
    return text + corpus


@pytest.mark.parametrize(("word", "wording"), sorted(everyday_words().items()))
def test_a_question_in_everyday_words_searches_the_documents_words(word: str, wording: tuple[str, ...]) -> None:
    question = parse(f"请问{word}有什么规定?")
    assert (word, wording) in question.everyday
    assert all(any(t in question.terms for t in (w, w[:2])) for w in wording)


@pytest.mark.parametrize(("word", "wording"), sorted(everyday_words().items()))
def test_the_documents_words_occur_in_the_library(library: str, word: str, wording: tuple[str, ...]) -> None:
    assert all(library.count(w) >= 3 for w in wording), f"{word}: {wording}"


def test_a_question_already_in_the_documents_words_is_not_expanded() -> None:
    assert parse("最低生活保障标准是多少?").everyday == ()
    assert [w for w, _ in parse("生孩子有补贴吗?").everyday] == ["生孩子"]  # not also 孩子
