"""The chat as a person uses it: `qa serve` on a free local port, driven in Debian's headless Chromium.

Run: .venv/bin/python -m pytest tests/test_browser.py -q   (UPDATE_SCREENSHOT=1 also refreshes docs/screenshot.png)
Nothing leaves the machine: the page may only load from the local server, and the test fails if it tries more.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
READY_TIMEOUT_S = 300  # a fresh machine builds the default index on first start (about 90 s)
ANSWER_TIMEOUT_MS = 60_000
SHANGHAI_TITLE = "上海市基本公共服務“十四五”規劃"  # a Traditional document; questions are asked in Simplified


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"qa serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"qa serve was not ready within {READY_TIMEOUT_S}s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The URL of `qa serve` on the default corpus, and the feedback file it writes."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    work = tmp_path_factory.mktemp("serve")
    port, log, feedback = _free_port(), work / "serve.log", work / "feedback.jsonl"
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--feedback-file", str(feedback)]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(url, proc, log)
        yield url, feedback
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def page(server):
    """A fresh browser page on the chat; fails the test if the page reached past the local server."""
    from playwright.sync_api import sync_playwright

    url, _ = server
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
