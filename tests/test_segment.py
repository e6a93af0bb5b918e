"""Sentence splitting: each messy pattern of the default corpus gives whole sentences with exact offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.segment import heading_level, is_boilerplate, split_sentences

CORPUS = Path(__file__).resolve().parents[1] / "qa" / "data" / "corpus"


def _quotes(text: str) -> list[str]:
    return [s.clean for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a page marker cutting a word (001: 基本公共服务制 / 4、度更加规范完善)
        ("基本公共服务制度建设走在前列。基本公共服务制\n4、度更加规范完善。制定标准。", ["基本公共服务制度建设走在前列。", "基本公共服务制度更加规范完善。", "制定标准。"]),
        # a page marker right after site boilerplate (001's first line)
        ("本文由会员分享,可在线阅读。\n1、公共服务规划为贯彻落实部署,编制本规划。", ["公共服务规划为贯彻落实部署,编制本规划。"]),
        # hard line wraps in the middle of words (004: 组建幼教集 / 团)
        ("全市规范办园,组建幼教集\n团,纠正学前教育小学化现\n象,切实维护幼儿合法权益。", ["全市规范办园,组建幼教集团,纠正学前教育小学化现象,切实维护幼儿合法权益。"]),
        # a stray one-character wrapped line (004: 合作 / 协 / 议)
        ("比例上升。其余养老机构也全部与医疗机构签订了合作\n协\n议,实现了全覆盖。", ["比例上升。", "其余养老机构也全部与医疗机构签订了合作协议,实现了全覆盖。"]),
        # table framing (003: 标题 | … | 范文 | …)
        ("标题 | 擘画大民生格局 |\n范文 | 聚焦民生领域热点难点问题。坚持顶层设计。 |", ["擘画大民生格局", "聚焦民生领域热点难点问题。", "坚持顶层设计。"]),
        # an inline topic label heading the sentence after it (003: 幼有所育:不断加强服务管理 持续…)
        ("指标涵盖全部领域。幼有所育:不断加强服务管理 持续加强孕产妇保健。", ["指标涵盖全部领域。", "幼有所育:不断加强服务管理", "持续加强孕产妇保健。"]),
        # an OCR'd 〇 read as a full stop (001: 二。三五年) does not end the sentence
        ("依据二。三五年远景目标纲要,编制规划。", ["依据二〇三五年远景目标纲要,编制规划。"]),
        # trailing site links are never sentences
        ("天津市发布规划。\n\n相關詞條\n\n熱門詞條\n\n聯絡我們", ["天津市发布规划。"]),
        # headings and bullets stay separate from the text under them
        ("編制背景\n基本公共服務關乎民生。\n  • 實施時間:2021年12月6日\n  • 通過時間:2021年11月25日", ["編制背景", "基本公共服務關乎民生。", "• 實施時間:2021年12月6日", "• 通過時間:2021年11月25日"]),
        # semicolons and closing quotes
        ("建立清单制度;完善标准。他说:“到2025年实现。”随后发布。", ["建立清单制度;", "完善标准。", "他说:“到2025年实现。”", "随后发布。"]),
    ],
)  # fmt: skip
def test_messy_patterns_give_whole_sentences(text: str, expected: list[str]) -> None:
    assert _quotes(text) == expected


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_offsets_point_into_the_original(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spans = split_sentences(text)
    assert len(spans) > 40
    for span in spans:
        quote = text[span.start : span.end]
        assert quote[0] == span.clean[0] and quote[-1] == span.clean[-1]
        assert not is_boilerplate(span.clean)


def test_sections_follow_the_outline() -> None:
    text = "全文\n  一、發展基礎\n  內容一。\n  (一)指導思想\n  內容二。\n  二、總體要求\n  內容三。"
    sections = {s.clean: s.section for s in split_sentences(text)}
    assert sections["內容二。"] == "一、發展基礎 / (一)指導思想"
    assert sections["內容三。"] == "二、總體要求"


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("一、發展基礎及面臨形勢", 1),
        ("(二)基本原則", 2),
        ("1.以人為本,應保盡保", 3),
        ("基本介紹", 1),
        ("到2025年,全面建成體系。", 0),
    ],
)
def test_heading_levels(line: str, level: int) -> None:
    assert heading_level(line) == level


def test_corpus_pages_and_wraps_are_joined() -> None:
    doc001 = (CORPUS / "001_fbb3d45c0bf01c22.txt").read_text(encoding="utf-8")
    doc004 = (CORPUS / "004_387685ca2794221c.txt").read_text(encoding="utf-8")
    cleans = [s.clean for s in split_sentences(doc001) + split_sentences(doc004)]
    assert any("基本公共服务制度更加规范完善" in c for c in cleans)
    assert any("组建幼教集团,纠正学前教育小学化现象" in c for c in cleans)
    assert not any("随便看" in c or "会员分享" in c for c in cleans)


def test_a_law_keeps_chapter_section_and_article_as_its_section_path() -> None:
    text = (
        "# 某市物业管理条例\n\n## 第一章  总则\n\n第一条 为了规范物业管理，制定本条例。\n\n"
        "## 第二章 业主委员会\n\n### 第一节 组成\n\n第二十条 业主委员会履行下列职责：\n\n"
        "（一）召集业主大会会议；\n\n（二）签订物业服务合同。\n\n第21条 业主委员会每届任期五年。\n"
    )
    sections = {s.clean: s.section for s in split_sentences(text)}
    assert sections["第一条 为了规范物业管理，制定本条例。"] == "第一章 总则 / 第一条"
    assert sections["（一）召集业主大会会议；"] == "第二章 业主委员会 / 第一节 组成 / 第二十条"
    assert sections["第21条 业主委员会每届任期五年。"] == "第二章 业主委员会 / 第一节 组成 / 第21条"


def test_markup_comments_are_neither_sentences_nor_sections() -> None:
    text = "# 某市水资源管理规定\n\n2017年11月23日通过\n\n<!-- INFO END -->\n\n第一条 为了保护水资源，制定本规定。\n"
    spans = split_sentences(text)
    assert not any("INFO" in s.clean for s in spans)
    assert (
        spans[-1].section == "第一条" and text[spans[-1].start : spans[-1].end] == "第一条 为了保护水资源，制定本规定。"
    )


@pytest.mark.parametrize(
    ("line", "boilerplate"),
    [
        ("如需下载全文，请在页面底部点击下载服务。", True),
        ("请在登录后查看", True),
        ("第十三条 因所生育子女均在境外定居申请在本省再生育的，按照有关规定执行。", False),  # a law, kept
        ("第四十四条 县级以上人民政府应当免费提供抗艾滋病病毒治疗药品。", False),
        ("对于版权所有，一方转让或准许另一方使用的出版发行权和其他权利，应在合同中规定。", False),
        ("相关词条：公共服务", True),
        ("申请在非主干道两侧临时占道的，应当具备下列条件：", False),
    ],
)
def test_boilerplate_words_never_drop_a_law_s_sentence(line: str, boilerplate: bool) -> None:
    assert is_boilerplate(line) is boilerplate
