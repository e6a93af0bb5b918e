"""Every cue word the assistant reads questions and sentences by, in one place: what a question asks for, how a
follow-up leans on the one before, figures, dates, bounds and old versions. Each entry is tested in
tests/test_lexicon.py with a text it must match and one it must not.

The modules that use them (question, conversation, read, figures, versions, retrieve, and the chat's
highlighting) hold the logic; a word added here reaches every one of them.
"""

from __future__ import annotations

import re


def either(words: tuple[str, ...]) -> str:
    """A regex alternation of `words`, longest first (so 那么 is taken whole, not as 那)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# — What a question asks for (qa.question) —
HOW_MUCH = r"多少|几(?![乎何])|多大(?!学)|多高|多长|多重|多远"  # the words that ask how much, how many, how big
MEASURE = r"比例|比重|率|金额|数量|人数|规模"  # what a figure measures
# A search-style question that ends in a quantity (煤泥烘干机价格, 中国城市人口) asks for that quantity.
QUANTITY = (
    r"(?:价格|价钱|售价|费用|人口|工资|薪水|收入|身高|体重|面积|距离|高度|长度|重量|年龄|分数线|温度|速度|油耗|成本|利息)"
    r"(?:是|为)?(?:多少)?[?？]?$"
)
KINDS = (
    ("date", re.compile(r"什么时候|何时|哪一?年|哪天|几月|日期|时间|多久|期限|截至|截止|哪个时候|何年")),
    ("list", re.compile(r"哪些|哪几|有什么|有何|包括|包含|分别|各项|几类|几种|种类|措施|列举|都有")),
    ("amount", re.compile(f"{HOW_MUCH}|{MEASURE}|标准是|百分|钱|{QUANTITY}")),
)
# The words that ask for an amount; without one, a question that asks 哪/谁/什么/为什么/是否 about a rate, a
# share or a price (哪一城市拥有百分之十七的就业机会, 注重什么元素, 谁承担诉讼的费用) asks for that, not for a figure.
ASKS_AMOUNT = re.compile(f"{HOW_MUCH}|什么水平|(?:{MEASURE}|标准)(?:是|为)?(?:什么)?[?？]?$")
ASKS_OTHER = re.compile(r"哪|谁|什么|何|怎|如何|为啥|是否|有没有|吗")
MONEY = re.compile(r"多少钱|几元|多少元|多少块|金额|多少万元")

# — Follow-ups (qa.question, qa.conversation) —
OPENERS = ("那", "那么", "那要是", "那在", "要是", "如果", "若", "还有", "另外", "而")  # 那上海呢? 要是分散供养呢?
CONDITIONS = ("如果", "若")  # openers that also begin a question of its own (如果没有户口怎么办?)
POINTERS = ("它", "其", "这", "该")  # a subject that points back
NO_SUBJECT = ("比", "要多", "需要多", "多久", "多长", "什么时候", "何时")  # another facet of the last question
FOLLOWUP = re.compile(rf"^({either(OPENERS)})|呢[?？]?$|^({either(POINTERS)})|^({either(NO_SUBJECT)})")
# What a follow-up says besides its new detail, stripped to find that detail.
FILLER = re.compile(rf"^({either(OPENERS)})|(的情况|的话|的)?呢?[?？!！。.]*$")
# A follow-up beyond doubt: an opener that is not a condition, or a closing 呢.
FOLLOW_ON = re.compile(rf"^({either(tuple(w for w in OPENERS if w not in CONDITIONS))})|呢[?？!！。.]*$")
ASKING = re.compile(r"多少|几|什么|哪|怎么|如何|是否|多久|多长|何时")  # a follow-up that asks anew
COUNT_WORD = re.compile(r"(多少|几)[张个名项所家座间]")  # 多少张: the count word belongs to the old topic
COUNTED = re.compile(r"(?:多少|几)个?[项个名人家所张]?([^\W\d_]{2,})[?？]?$")  # 有多少个服务项目 → 服务项目
LEAD = re.compile(r"(的|市|到|在|截至|\d{4}\s*年(底|末)?)*")  # what may stand between a place and the topic
PREDICATE = re.compile(r"要|将|应|需|能|可以|是|有(?=多少|几|什么|哪)|达到|提高|增加|多少|几|什么|哪|怎么|如何")
# what the earlier question asked, to drop when a follow-up asks something else about the same thing
ASKED_PART = re.compile(
    r"(应该|应当|需要|要|可以|能|该)?(去|到|在|向)?(是|有|为)?"
    r"(多少[^\s，,。?？]{0,2}|几[^\s，,。?？]{0,2}|什么(时候|地方)?|哪(里|儿|些|个|家)?|怎么(办|样)?|如何|是否|多久|多长时间|何时)"
    r"[^，,。]*$"
)

# — Figures and the side of them a text means (qa.figures, qa.conversation) —
NUMERALS = "零〇一二两三四五六七八九十百千"
UNIT = r"(?:个|周岁|周|岁|年|月|日|天|人|名|元|万|亿|次|项|户|张|家|倍|小时|平方米|%|％)"
FIGURE = re.compile(  # digits; Chinese numerals only before a unit or in a fraction (三分之二, 百分之二十)
    rf"(?<![第\d.])(\d+(?:\.\d+)?)|(?<![第{NUMERALS}])([{NUMERALS}]+)(?={UNIT}|分之)|(?<=分之)([{NUMERALS}]+)"
)
BELOW_BEFORE = re.compile(r"(?:不满|不足|未满|未达到?|低于|少于|不到|不超过|最多|至多)$")
ABOVE_BEFORE = re.compile(r"(?:满|超过|高于|达到|不少于|不低于|至少|最少)$")
SIDE_AFTER = re.compile(rf"{UNIT}*(?:以上|及以上|以下|及以下)")

# — What a sentence carries, for the reader (qa.read) —
COUNTER = (  # a Chinese numeral followed by one is a figure
    "个|万|亿|元|人|名|位|项|种|级|家|所|户|张|床|倍|成|日|天|周|月|年|岁|次|小时|分钟|平方|米|亩|公里|千克|吨"
)
NUMBER = re.compile(  # a figure: 二十二周岁, 三十平方米; a share: 百分之二十, 三分之二
    rf"\d|[一二三四五六七八九十两][一二三四五六七八九十两百千万]*(?:{COUNTER})|分之[一二三四五六七八九十]"
)
PLACEHOLDER = re.compile(r"(?<![a-z])x+(?![a-z])")  # a template's blank: xx元
DATE = re.compile(  # a date, a period or a frequency: 2021年, 12月6日, 六月, 三十日内, 两个月, 1年内, 每两个月
    r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|二〇|年底|年末|年初|十[三四五]五"
    r"|[一二三四五六七八九十百两]+个?(?:日|天|月|年|周|小时|工作日)|\d+\s*个?(?:天|周|小时|工作日|个月|年)"
    r"|每(?:[一二三四五六七八九十两]+个?|\d+\s*个?)?(?:年|月|周|天|日|季度|星期)"
)
LIST = re.compile(r"[、；;]")
ASKED_UNIT = re.compile(r"(?:多少|几)个?([^\W\d_多少几的是了呢吗么])")  # the unit after 多少/几: 几天, 多少元
SAME_UNIT = {"钱": "元", "块": "元", "天": "日|天", "日": "日|天", "人": "人|名", "周": "周|星期", "岁": "岁|周岁"}
RATIO = re.compile(r"比例|比重|百分|率")
FIGURE_START = r"(?:\d|[一二三四五六七八九十两百千万])"  # what a figure before the asked unit begins with
BOUND_ASKED = re.compile(r"最多|最少|至少|最长|最短|最早|最晚|最迟|最高|最低|上限|下限|起码|多久内|多长时间内")
BOUND = re.compile(
    r"以上|以下|以内|之内|不超过|不少于|不低于|不高于|不足|不满|未满|不得[超少低高早晚迟]|[早晚迟]于|最长|最短|最多|最少|至少|最高|最低"
    r"|[日天月年]内"
)
CALENDAR_DATE = re.compile(  # a day or a year on the calendar: 2012年9月18日, 2015年
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]"
)
PERCENT = re.compile(r"\d\s*[%％]|百分之|[一二三四五六七八九]成")

# — Versions and titles (qa.versions, qa.retrieve) —
OLD_RULE = re.compile(r"旧版|老版|原规定|原条例|原办法|修订前|修改前|以前的规定|废止前|之前的版本")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
TITLE_KIND = re.compile(  # a question that goes on to say what kind of document it means (…规划, …条例)
    r"法|条例|规定|办法|细则|规则|规划|计划|方案|意见|通知|纲要|典|编|标准|文件|政策"
)

# — Kinds of document, by the end of their title (the chat's introduction, app.chat_library) —
DOCUMENT_KINDS = (
    ("法律", re.compile(r"法$")),
    ("条例", re.compile(r"条例$")),
    ("规定与办法", re.compile(r"(规定|办法|细则|规则|决定)$")),
    ("规划与报告", re.compile(r"(规划|报告|纲要|方案|意见)$")),
)

# — What the chat marks as the answering part of a sentence (app.chat_render) —
MARKED_AMOUNT = re.compile(
    r"\d+(?:[.,]\d+)*(?:\s*[-~～—至到]\s*\d+(?:\.\d+)?)?\s*"
    r"(?:%|‰|万人次|万人|万元|亿元|万个|万张|人次|万|亿|元|人|个|所|张|项|岁|㎡|平方米|倍|天|小时|公里|家|名|床)?"
)
MARKED_DATE = re.compile(
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}\s*[-—–~]\s*\d{4}"
)
