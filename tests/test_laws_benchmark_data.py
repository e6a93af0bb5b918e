"""Integrity checks for the laws QA benchmark (qa/data/laws_benchmark.jsonl).

Structural checks (fields, types, counts, ids, follow-up history) always run. The checks against the
law library (source exists, evidence verbatim in the source, answer inside the evidence, article
lookups quote the first sentence of the named article, version rows cite a dated version) need
../shared/laws next to the checkout and are skipped when it is absent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).parent.parent / "qa" / "data" / "laws_benchmark.jsonl"
LAWS = Path(__file__).parents[2] / "shared" / "laws"

FIELDS = ("id", "question", "history", "source", "answer", "evidence", "type")
MIN_PER_TYPE = {
    "amount": 25,
    "period": 25,
    "who": 25,
    "how": 20,
    "list": 15,
    "article": 20,
    "place": 20,
    "version": 15,
    "followup": 15,
    "traditional": 12,
    "unanswerable": 30,
}
MIN_TOTAL = 220
MIN_SOURCES = 60
MIN_OLD_VERSION_QUESTIONS = 5
DATED = re.compile(r"^(?P<title>.+)\((?P<date>\d{4}-\d{2}-\d{2})\)\.md$")


def _load() -> list[dict]:
    with BENCHMARK.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _load()
ANSWERABLE = [r for r in ROWS if r.get("type") != "unanswerable"]
UNANSWERABLE = [r for r in ROWS if r.get("type") == "unanswerable"]
FOLLOWUPS = [r for r in ROWS if r.get("type") == "followup"]
ARTICLES = [r for r in ROWS if r.get("type") == "article"]
VERSIONS = [r for r in ROWS if r.get("type") == "version"]

needs_laws = pytest.mark.skipif(not LAWS.is_dir(), reason=f"law library not found at {LAWS}")


def _ids(rows: list[dict]) -> list[str]:
    return [str(r.get("id")) for r in rows]


def _chinese_number(n: int) -> str:
    """Article numbering as the laws write it: 10 -> 十, 110 -> 一百一十, 1047 -> 一千零四十七."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    if n < 1000:
        head, rest = digits[n // 100] + "百", n % 100
        if rest == 0:
            return head
        if rest < 10:
            return head + "零" + digits[rest]
        return head + (digits[1] if rest < 20 else "") + _chinese_number(rest)
    head, rest = digits[n // 1000] + "千", n % 1000
    if rest == 0:
        return head
    if rest < 100:
        return head + "零" + (digits[1] if 10 <= rest < 20 else "") + _chinese_number(rest)
    return head + _chinese_number(rest)


def _article_number(question: str) -> str | None:
    m = re.search(r"第([0-9]+)条", question)
    if m:
        return _chinese_number(int(m.group(1)))
    m = re.search(r"第([一二三四五六七八九十百千零]+)条", question)
    return m.group(1) if m else None


_TEXTS: dict[str, str] = {}


def _text(source: str) -> str:
    if source not in _TEXTS:
        _TEXTS[source] = (LAWS / source).read_text(encoding="utf-8")
    return _TEXTS[source]


# ---------------------------------------------------------------- structure (always runs)


def test_benchmark_exists_and_is_large_enough() -> None:
    assert BENCHMARK.is_file()
    assert len(ROWS) >= MIN_TOTAL


def test_ids_unique() -> None:
    counts = Counter(r.get("id") for r in ROWS)
    assert [i for i, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("qtype", sorted(MIN_PER_TYPE))
def test_type_has_enough_questions(qtype: str) -> None:
    assert sum(r.get("type") == qtype for r in ROWS) >= MIN_PER_TYPE[qtype]


def test_only_known_types() -> None:
    assert sorted({r.get("type") for r in ROWS} - set(MIN_PER_TYPE)) == []


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_fields_present_with_right_types(row: dict) -> None:
    assert set(row) == set(FIELDS)
    assert isinstance(row["id"], str) and row["id"]
    assert isinstance(row["question"], str) and row["question"].strip()
    assert isinstance(row["history"], list)
    assert all(isinstance(h, str) and h.strip() for h in row["history"])
    if row["type"] == "unanswerable":
        assert row["source"] is None and row["answer"] is None and row["evidence"] is None
    else:
        for key in ("source", "answer", "evidence"):
            assert isinstance(row[key], str) and row[key], key
        assert row["answer"] in row["evidence"]
        assert "\n" not in row["evidence"]


@pytest.mark.parametrize("row", FOLLOWUPS, ids=_ids(FOLLOWUPS))
def test_followups_have_history(row: dict) -> None:
    assert len(row["history"]) >= 1


def test_enough_distinct_sources() -> None:
    assert len({r["source"] for r in ANSWERABLE}) >= MIN_SOURCES


@pytest.mark.parametrize("row", ARTICLES, ids=_ids(ARTICLES))
def test_article_questions_name_an_article(row: dict) -> None:
    assert _article_number(row["question"]) is not None


def test_article_questions_mix_numeral_styles() -> None:
    digits = sum(bool(re.search(r"第[0-9]+条", r["question"])) for r in ARTICLES)
    chinese = len(ARTICLES) - digits
    assert digits >= len(ARTICLES) // 3 and chinese >= len(ARTICLES) // 3


def test_version_questions_include_older_years() -> None:
    older = [r for r in VERSIONS if re.search(r"(19|20)\d\d年", r["question"])]
    assert len(older) >= MIN_OLD_VERSION_QUESTIONS


# ---------------------------------------------------------------- against the law library


@needs_laws
@pytest.mark.parametrize("row", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_evidence_is_verbatim_in_source(row: dict) -> None:
    path = LAWS / row["source"]
    assert path.is_file(), row["source"]
    assert row["evidence"] in _text(row["source"])


@needs_laws
@pytest.mark.parametrize("row", ARTICLES, ids=_ids(ARTICLES))
def test_article_evidence_opens_the_named_article(row: dict) -> None:
    number = _article_number(row["question"])
    text = _text(row["source"])
    assert re.search(rf"^第{number}条[ 　]+{re.escape(row['evidence'])}", text, re.M), number


@needs_laws
@pytest.mark.parametrize("row", VERSIONS, ids=_ids(VERSIONS))
def test_version_rows_cite_a_title_with_several_versions(row: dict) -> None:
    path = LAWS / row["source"]
    m = DATED.match(path.name)
    assert m, path.name
    siblings = sorted(
        DATED.match(p.name).group("date")
        for p in path.parent.glob("*.md")
        if DATED.match(p.name) and DATED.match(p.name).group("title") == m.group("title")
    )
    assert len(siblings) >= 2
    names_old_year = re.search(r"((?:19|20)\d\d)年", row["question"])
    if names_old_year:
        assert m.group("date") != siblings[-1], "an older-year question must cite an older version"
        assert m.group("date").startswith(names_old_year.group(1))
    else:
        assert m.group("date") == siblings[-1], "a current-rule question must cite the newest version"
