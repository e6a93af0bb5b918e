"""The chat as a person uses it: `qa serve` on a free local port, driven in Debian's headless Chromium.

Run: .venv/bin/python -m pytest tests/test_browser.py -q   (UPDATE_SCREENSHOT=1 also refreshes docs/screenshot.png)
Nothing leaves the machine: the page may only load from the local server, and the test fails if it tries more.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import serving

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ANSWER_TIMEOUT_MS = 60_000
SHANGHAI_TITLE = "上海市基本公共服務“十四五”規劃"  # a Traditional document; questions are asked in Simplified


def _serve(work: Path, *args: str, extra_env: dict | None = None):
    """`qa serve ARGS` for the browser; yields its URL (with the trailing slash)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with serving(work / "serve.log", *args, extra_env=extra_env) as base:
        yield base + "/"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The URL of `qa serve` on the default corpus, and the feedback file it writes."""
    work = tmp_path_factory.mktemp("serve")
    feedback = work / "feedback.jsonl"
    for url in _serve(work, "--feedback-file", str(feedback)):
        yield url, feedback


ADMIN_TOKEN = "browser-test-admin-token-1234"


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    """`qa serve` over an index of its own (the tiny test documents, with the real model) and an admin token."""
    work = tmp_path_factory.mktemp("library")
    shutil.copytree(ROOT / "tests" / "data" / "tiny", work / "docs")
    build = [sys.executable, "-m", "app.cli", "index", "build", str(work / "docs"), "--out", str(work / "index")]
    subprocess.run(build, cwd=ROOT, check=True, capture_output=True)
    for url in _serve(work, "--index", str(work / "index"), extra_env={"MQ_ADMIN_TOKEN": ADMIN_TOKEN}):
        yield url, work


@pytest.fixture
def page(request):
    """A fresh browser page on the chat (on `library_server` for tests that use it, else `server`); fails the
    test if the page reached past the local server."""
    from playwright.sync_api import sync_playwright

    url = request.getfixturevalue("library_server" if "library_server" in request.fixturenames else "server")[0]
    outside, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="zh-CN")

        def local_only(route):
            if route.request.url.startswith(url[:-1]) or route.request.url.startswith("data:"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", local_only)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        page.wait_for_selector("#question textarea")
        page.dialogs = dialogs
        yield page
        browser.close()
    assert outside == [], f"the page tried to reach outside the local server: {outside[:5]}"


def ask(page, question: str):
    """Type a question and press Enter, as a person would; returns the new answer's element."""
    from playwright.sync_api import expect

    answers = page.locator("#chat .mq-answer")
    before = answers.count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    expect(answers).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
    return answers.last


def test_question_follow_up_script_and_feedback(page, server, tmp_path) -> None:
    from playwright.sync_api import expect

    answer = ask(page, "上海到2025年养老护理员持证比例要达到多少?")
    expect(answer.locator("mark", has_text="80%").first).to_be_visible()
    expect(answer.locator(".mq-cite").first).to_contain_text(SHANGHAI_TITLE)
    expect(page.locator("#sources")).to_contain_text(SHANGHAI_TITLE)
    page.screenshot(path=str(tmp_path / "chat.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "chat.png", ROOT / "docs" / "screenshot.png")
    page.get_by_text("复制答案").click()  # the answer with its citations as plain text
    expect(page.locator("#copy textarea")).to_have_value(re.compile(r"80%.*\n.*002_003fb1dd989b6225\.txt \d+–\d+"))

    tianjin = ask(page, "天津家庭医生签约了多少居民?")
    expect(tianjin.locator(".mq-cite").first).to_contain_text("天津")
    follow_up = ask(page, "那上海呢?")  # understood from the turn before: 上海家庭医生签约了多少居民
    expect(follow_up).to_contain_text("理解为")
    expect(follow_up.locator(".mq-cite").first).to_contain_text(SHANGHAI_TITLE)
    expect(follow_up.locator("blockquote").first).to_contain_text("800萬")

    page.locator("#script label", has_text="简体").click()  # display only: the citation still names the original
    expect(page.locator("#chat .mq-answer").last).to_contain_text("上海市基本公共服务“十四五”规划")

    page.locator("#chat button[aria-label='赞'], #chat button[aria-label='Like']").last.click()
    feedback = server[1]
    deadline = time.monotonic() + 10
    while not (feedback.exists() and feedback.read_text(encoding="utf-8").strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert '"rating": "up"' in feedback.read_text(encoding="utf-8") and "那上海呢?" in feedback.read_text("utf-8")

    page.click("#new-chat")
    expect(page.locator("#chat .mq-answer")).to_have_count(0)


def test_upload_then_ask_and_markup_stays_text(page, tmp_path) -> None:
    from playwright.sync_api import expect

    doc = tmp_path / "changchun_notice.txt"
    doc.write_text(
        "长春市冰雪补贴通知<img src=x onerror=alert('img')>\n"
        "<script>alert('script')</script>长春市冰雪运动补贴标准为每人每年4321元。\n",
        encoding="utf-8",
    )
    page.get_by_text("添加文件").click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#upload-status")).to_contain_text("已加入：changchun_notice.txt", timeout=ANSWER_TIMEOUT_MS)

    answer = ask(page, "长春冰雪运动补贴标准是多少?")
    expect(answer.locator("blockquote").first).to_contain_text("4321元")
    expect(answer.locator(".mq-cite").first).to_contain_text("changchun_notice.txt")
    chat = page.inner_text("#chat")
    assert "<img src=x onerror=alert('img')>" in chat or "<script>alert('script')</script>" in chat
    assert page.locator("#chat script, #chat img[src='x'], #sources script, #sources img[src='x']").count() == 0
    assert page.dialogs == [], f"document markup ran in the page: {page.dialogs}"


def test_library_tab_is_read_only_without_the_token(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="文件库").click()
    expect(page.locator("#library-count")).to_contain_text("共 5 份")
    expect(page.locator("#library-table")).to_contain_text("000_e4fbf0abc2f6e178.txt")
    expect(page.locator("#library-note")).to_contain_text("只能查看")
    assert page.locator("#library-upload").count() == 0 and page.locator("#library-remove").count() == 0


def test_library_tab_adds_and_removes_with_the_token(page, library_server, tmp_path) -> None:
    from playwright.sync_api import expect

    url, work = library_server
    page.get_by_role("tab", name="文件库").click()
    expect(page.locator("#library-count")).to_contain_text("共 5 份")
    page.locator("#library-search input, #library-search textarea").fill("成都")
    expect(page.locator("#library-count")).to_contain_text("共 1 份")

    doc = tmp_path / "harbin_notice.txt"
    doc.write_text("哈尔滨市供暖补贴通知\n哈尔滨市低保家庭供暖补贴标准为每户每年2468元。\n", encoding="utf-8")
    page.get_by_text("管理文件").click()
    page.locator("#library-token input").fill("not-the-token-at-all")
    page.locator("#library-upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#library-status")).to_contain_text("管理口令不对", timeout=ANSWER_TIMEOUT_MS)
    assert not (work / "docs" / doc.name).exists()

    page.locator("#library-token input").fill(ADMIN_TOKEN)
    page.locator("#library-upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#library-status")).to_contain_text("已加入 harbin_notice.txt", timeout=ANSWER_TIMEOUT_MS)
    assert (work / "docs" / doc.name).exists()  # saved into the library's folder, where qa index update finds it

    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "哈尔滨低保家庭供暖补贴标准是多少?")
    expect(answer.locator(".mq-cite").first).to_contain_text("harbin_notice.txt")

    page.get_by_role("tab", name="文件库").click()
    page.locator("#library-remove-source input, #library-remove-source textarea").fill("harbin_notice.txt")
    page.click("#library-remove")
    expect(page.locator("#library-status")).to_contain_text("已移除 harbin_notice.txt", timeout=ANSWER_TIMEOUT_MS)
    assert not (work / "docs" / doc.name).exists() and (work / "index" / "retired" / doc.name).exists()
    page.get_by_role("tab", name="问答").click()
    after = ask(page, "哈尔滨低保家庭供暖补贴标准是多少?")
    assert "harbin_notice.txt" not in after.inner_text()
