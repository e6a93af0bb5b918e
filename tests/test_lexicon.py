"""Every entry of the lexicon matches what it names and not its near miss."""

from __future__ import annotations

import re

import pytest

from qa import lexicon
from qa.conversation import needs_history
from qa.question import parse

# (entry, a text it must match, a text it must not match)
CASES = [
    ("ASKS_AMOUNT", "低保标准是多少?", "哪一城市拥有百分之十七的就业机会?"),
    ("ASKS_OTHER", "谁承担诉讼的费用?", "低保标准多少钱"),
    ("MONEY", "每月能领多少钱?", "每月能领几次?"),
    ("FOLLOWUP", "那上海呢?", "上海的低保标准是多少?"),
    ("FILLER", "那上海的呢?", "上海"),  # what it strips: 上海 is left
    ("FOLLOW_ON", "那上海?", "如果没有户口怎么办?"),
    ("ASKING", "去哪里申请?", "分散供养"),
    ("COUNT_WORD", "多少张床位", "多少床位"),
    ("COUNTED", "有多少个服务项目?", "有多少?"),
    ("LEAD", "的", "低保"),
    ("PREDICATE", "养老床位要达到多少", "养老床位"),
    ("ASKED_PART", "应当去哪里申请?", "分散供养"),
    ("FIGURE", "不满十六周岁", "第十六条"),
    ("BELOW_BEFORE", "不满", "满"),
    ("ABOVE_BEFORE", "不少于", "不足"),
    ("SIDE_AFTER", "周岁以上", "周岁的"),
    ("NUMBER", "二十二周岁", "周岁"),
    ("PLACEHOLDER", "每人每月xx元", "每人每月元"),
    ("DATE", "每两个月发放一次", "按规定发放"),
    ("LIST", "医疗、教育、住房", "医疗和教育"),
    ("ASKED_UNIT", "要等几天?", "要等多久?"),
    ("RATIO", "占比的比例", "人数"),
    ("BOUND_ASKED", "最晚多久内办结?", "多久办结?"),
    ("BOUND", "十五日内办结", "按时办结"),
    ("CALENDAR_DATE", "2012年9月18日", "12个月"),
    ("PERCENT", "百分之二十以上", "二十个以上"),
    ("OLD_RULE", "修订前的规定", "现行规定"),
    ("YEAR", "2010年的规定", "第20100条"),
    ("TITLE_KIND", "物业管理条例", "物业管理"),
    ("MARKED_AMOUNT", "1870元", "元"),
    ("MARKED_DATE", "2025年12月", "12月"),
]


@pytest.mark.parametrize(("name", "hit", "miss"), CASES, ids=[c[0] for c in CASES])
def test_each_entry_matches_what_it_names_and_not_its_near_miss(name: str, hit: str, miss: str) -> None:
    pattern = getattr(lexicon, name)
    if name == "LEAD":  # matches everywhere, possibly empty: what it takes is what counts
        assert pattern.match(hit).group() == hit and pattern.match(miss).group() == ""
        return
    if name == "FILLER":
        assert pattern.sub("", hit) == miss and pattern.sub("", miss) == miss
        return
    assert pattern.search(hit), hit
    assert not pattern.search(miss), miss


def test_every_pattern_of_the_lexicon_is_tested() -> None:
    patterns = {n for n, v in vars(lexicon).items() if isinstance(v, re.Pattern)}
    assert patterns == {c[0] for c in CASES}


@pytest.mark.parametrize("kind", ["date", "list", "amount"])
def test_each_kind_of_question_is_read_from_its_words(kind: str) -> None:
    asked = {"date": "低保什么时候发放?", "list": "低保包括哪些人?", "amount": "低保标准是多少?"}
    assert parse(asked[kind]).kind == kind
    assert parse("低保由民政部门负责。").kind == "fact"


@pytest.mark.parametrize("opener", lexicon.OPENERS)
def test_each_opener_makes_a_follow_up(opener: str) -> None:
    assert parse(f"{opener}分散供养人员的标准是多少?").elliptical
    assert not parse("分散供养人员的标准是多少?").elliptical
    leans = needs_history(parse(f"{opener}上海?"))
    assert leans == (opener not in lexicon.CONDITIONS)  # 如果上海? may be asked on its own


@pytest.mark.parametrize("word", lexicon.POINTERS + lexicon.NO_SUBJECT)
def test_each_pointer_and_subjectless_start_makes_a_follow_up(word: str) -> None:
    assert parse(f"{word}分散供养人员的标准是多少?").elliptical


@pytest.mark.parametrize(
    ("title", "kind"),
    [("老年人权益保障法", "法律"), ("养犬管理条例", "条例"), ("实施细则", "规定与办法"), ("发展纲要", "规划与报告")],
)
def test_each_kind_of_document_is_read_from_its_title(title: str, kind: str) -> None:
    assert next(k for k, p in lexicon.DOCUMENT_KINDS if p.search(title)) == kind


def test_either_takes_the_longest_word_first() -> None:
    assert re.match(lexicon.either(("那", "那么")), "那么").group() == "那么"
