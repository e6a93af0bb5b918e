"""The HTTP API (/api/v1): in process on the tiny corpus with the fake encoder, fuzzed from its own OpenAPI
document, and once end to end through `qa serve` with the real model.

Run: .venv/bin/python -m pytest tests/test_api.py -q   (-m "not slow" skips the real server)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from conftest import FakeEncoder, serving
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from app.api import MAX_BATCH, MAX_JSON_BYTES, PREFIX, create_api
from app.library import Library, LibraryError
from app.tokens import Tokens
from index.commit import read_manifest
from qa.assistant import Assistant, build_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "data" / "tiny"
ADMIN = "admin-token-0123456789"
READ = "read-token-0123456789"
NOT_ADMIN = 403  # a write with no token, or another one, on a server that has an admin token

CHENGDU = "成都市城乡最低生活保障标准是多少?"
QUESTIONS = [  # each answered by the tiny corpus, from a document in a different encoding or format
    (CHENGDU, "chengdu.md", "700元"),
    ("上海养老护理员持证比例要达到多少?", "shanghai.html", "80%"),
    ("吉林市新增就业岗位多少个?", "gbk_notes.txt", "3000个"),
    ("台北公共图书馆有多少所?", "big5_notes.txt", "56所"),
]
HANGZHOU = "杭州市最低生活保障标准为每人每月1234元。\n"
HANGZHOU_QUESTION = "杭州最低生活保障标准是多少?"


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def client(library: Library, admin: str | None = ADMIN, read: str | None = None, **kwargs) -> TestClient:
    return TestClient(create_api(library, Tokens(admin, read)), **kwargs)


def tiny_library(where: Path) -> Library:
    """A library over a copy of the tiny corpus in where/docs, indexed with the fake encoder into where/index."""
    shutil.copytree(TINY, where / "docs")
    build_folder(where / "docs", where / "index", FakeEncoder(), progress=False)
    return Library(Assistant(where / "index", encoder=FakeEncoder(), progress=False))


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Library:
    """One library for the tests that only read or are refused (opening one costs a second): none may change it."""
    return tiny_library(tmp_path_factory.mktemp("shared"))


@pytest.fixture(scope="module")
def api(shared) -> TestClient:
    """The API over the shared library, with the admin token set and reads open."""
    return client(shared)


@pytest.fixture
def library(tiny_assistant) -> Library:
    """A library of its own, for a test that changes it."""
    return Library(tiny_assistant)


@pytest.fixture
def fresh(library) -> TestClient:
    return client(library)


def root(library: Library) -> Path:
    """The folder holding the library's docs/ and index/: whatever a refused change might write lands under it."""
    return library.assistant.index_path.parent


def state(library: Library) -> tuple:
    """What a refused change must leave as it was: the live commit and the documents listed."""
    return read_manifest(library.assistant.index_path)["generation"], [e.source for e in library.entries()]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(response) -> str:
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail, detail
    return detail


def upload(name: str, data: bytes, field: str = "files") -> tuple[bytes, dict]:
    """A multipart body written by hand, so a file name reaches the server exactly as given (raw bytes)."""
    boundary = "mq-test-boundary-7f3a"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def check_quotes(index, answer: dict) -> int:
    """Every quote is its document's original text at [start:end]; returns how many there were."""
    quotes = answer["sentences"] + answer["passages"]
    for q in quotes:
        doc = index.by_source(q["source"])
        assert doc is not None, q["source"]
        assert index.documents[doc].text[q["start"] : q["end"]] == q["text"], q
    return len(quotes)


# --- the OpenAPI document ---------------------------------------------------------------------------------


def test_openapi_lists_every_route_with_bearer_security(api) -> None:
    spec = api.get("/openapi.json").json()
    routes = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert routes == {
        ("/ask", "post"),
        ("/ask/batch", "post"),
        ("/library", "get"),
        ("/documents", "get"),
        ("/documents", "post"),
        ("/documents/{source}", "put"),
        ("/documents/{source}", "delete"),
    }
    schemes = spec["components"]["securitySchemes"]
    assert [(s["type"], s["scheme"]) for s in schemes.values()] == [("http", "bearer")]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("security") == [{name: []} for name in schemes], (path, method)


# --- asking ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "source", "fact"), QUESTIONS)
def test_ask_returns_the_cli_json_contract(api, shared, question, source, fact) -> None:
    response = api.post("/ask", json={"question": question})
    assert response.status_code == 200
    answer = response.json()
    assert answer == shared.assistant.answer(question).to_json()
    assert answer["answered"] and answer["sentences"][0]["source"] == source
    assert fact in answer["sentences"][0]["text"]
    assert check_quotes(shared.assistant.index, answer) > 1


def test_ask_within_one_source(api, shared) -> None:
    answer = api.post("/ask", json={"question": CHENGDU, "source": "tianjin.txt"}).json()
    assert answer["passages"] and {q["source"] for q in answer["sentences"] + answer["passages"]} == {"tianjin.txt"}
    check_quotes(shared.assistant.index, answer)


def test_batch_keeps_ids_and_order(api, shared) -> None:
    items = [{"id": f"q{n}", "question": q} for n, (q, _, _) in enumerate(QUESTIONS)][::-1]
    items.append({"question": "那上海呢?", "history": ["天津每千人口托位数达到多少?"]})  # no id: a follow-up
    response = api.post("/ask/batch", json={"items": items})
    assert response.status_code == 200
    answers = response.json()["answers"]
    assert [a.get("id") for a in answers] == ["q3", "q2", "q1", "q0", None]  # no "id": null, as qa ask --json
    assert [a["question"] for a in answers] == [item["question"] for item in items]
    for item, answer in zip(items, answers):
        single = shared.assistant.answer(item["question"], item.get("history"))
        assert answer == single.to_json(item.get("id"))
        check_quotes(shared.assistant.index, answer)
    assert [a["sentences"][0]["source"] for a in answers[:4]] == [s for _, s, _ in QUESTIONS][::-1]


def test_batch_over_the_limit_is_refused(api) -> None:
    response = api.post("/ask/batch", json={"items": [{"question": CHENGDU}] * (MAX_BATCH + 1)})
    assert response.status_code == 422
    assert "items" in one_line(response) and str(MAX_BATCH) in one_line(response)


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/ask", {"question": ""}, 400, "empty question"),
        ("/ask", {"question": "？！。"}, 400, "only punctuation"),
        ("/ask", {"question": "那上海呢?"}, 400, "follow-up"),
        ("/ask/batch", {"items": [{"question": CHENGDU}, {"question": "  "}]}, 400, "empty question"),
        ("/ask", {"question": 5}, 422, "question"),
        ("/ask", {"question": "问" * 501}, 422, "question"),
        ("/ask", {"history": []}, 422, "question"),
        ("/ask", {"question": CHENGDU, "history": ["上海呢"] * 21}, 422, "history"),
        ("/ask", {"question": CHENGDU, "place": ["成都"]}, 422, "place"),
        ("/ask/batch", {"items": "成都"}, 422, "items"),
        ("/ask/batch", {"items": [{"id": 1, "question": CHENGDU}]}, 422, "items.0.id"),
        ("/ask", "{not json", 422, "JSON"),
    ],
)
def test_bad_questions_get_one_line(api, path, body, status, fragment) -> None:
    if isinstance(body, str):
        response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.post(path, json=body)
    assert response.status_code == status
    assert fragment in one_line(response)


def test_a_body_over_the_limit_is_refused(api) -> None:
    declared = api.post("/ask", content=b" " * (MAX_JSON_BYTES + 1), headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and f"{MAX_JSON_BYTES:,}" in one_line(declared)

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_JSON_BYTES // 10_000 + 1):
            yield b" " * 10_000

    streamed = api.post("/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    # just under the limit is read, and refused for what it says
    under = json.dumps({"question": "问" * (MAX_JSON_BYTES // 4)}, ensure_ascii=False).encode()
    assert len(under) < MAX_JSON_BYTES
    assert api.post("/ask", content=under, headers={"Content-Type": "application/json"}).status_code == 422


# --- who may read and write -----------------------------------------------------------------------------------

WRITES = {
    "add": lambda c, h: c.post("/documents", files=[("files", ("hangzhou.txt", HANGZHOU.encode(), "text/plain"))], headers=h),
    "replace": lambda c, h: c.put("/documents/chengdu.md", files={"file": ("x.md", HANGZHOU.encode())}, headers=h),
    "remove": lambda c, h: c.delete("/documents/tianjin.txt", headers=h),
}  # fmt: skip
READS = {
    "ask": lambda c, h: c.post("/ask", json={"question": CHENGDU}, headers=h),
    "batch": lambda c, h: c.post("/ask/batch", json={"items": [{"question": CHENGDU}]}, headers=h),
    "library": lambda c, h: c.get("/library", headers=h),
    "documents": lambda c, h: c.get("/documents", headers=h),
}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("token", [None, ADMIN, "some-other-token-0000"])
def test_writes_are_off_without_an_admin_token(shared, write, token) -> None:
    before, files = state(shared), files_under(root(shared))
    response = WRITES[write](client(shared, admin=None), bearer(token))
    assert response.status_code == 403 and "MQ_ADMIN_TOKEN" in one_line(response)
    assert state(shared) == before and files_under(root(shared)) == files


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(
    "headers",
    [{}, bearer(ADMIN[:-1]), bearer(ADMIN + "x"), bearer(READ), {"Authorization": f"Basic {ADMIN}"},
     {"Authorization": ADMIN}],
)  # fmt: skip
def test_writes_need_the_admin_token(shared, write, headers) -> None:
    before, files = state(shared), files_under(root(shared))
    response = WRITES[write](client(shared, read=READ), headers)
    assert response.status_code == NOT_ADMIN and response.headers["WWW-Authenticate"] == "Bearer"
    assert "needs the admin token" in one_line(response)
    assert state(shared) == before and files_under(root(shared)) == files


@pytest.mark.parametrize("write", WRITES)
def test_the_admin_token_writes(library, write) -> None:
    before = state(library)
    response = WRITES[write](client(library, read=READ), bearer(ADMIN))
    assert response.status_code == 200
    assert state(library)[0] != before[0]  # a new commit


@pytest.mark.parametrize("read", READS)
def test_reads_with_a_read_token(shared, read) -> None:
    guarded = client(shared, read=READ)
    for token in (None, READ[:-1], "some-other-token-0000"):
        response = READS[read](guarded, bearer(token))
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert READS[read](guarded, bearer(READ)).status_code == 200
    assert READS[read](guarded, bearer(ADMIN)).status_code == 200  # the admin token reads too
    assert READS[read](client(shared, admin=None), {}).status_code == 200  # no read token: open


def test_library_says_whether_it_can_be_changed(shared) -> None:
    info = client(shared).get("/library").json()
    assert info["documents"] == 5 and info["writable"] is True
    assert client(shared, admin=None).get("/library").json()["writable"] is False


# --- listing documents ----------------------------------------------------------------------------------------


def row(d) -> dict:
    """A catalog entry as /documents lists it."""
    return {"source": d.source, "title": d.title, "place": d.place, "version": d.version, "chars": d.chars}


def test_documents_a_page_at_a_time(api, shared) -> None:
    catalog = list(shared.assistant.index.catalog)
    page = api.get("/documents", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == len(catalog) == 5 and page["offset"] == 1
    assert page["documents"] == [row(d) for d in catalog[1:3]]
    assert api.get("/documents", params={"offset": 4}).json()["documents"] == [row(catalog[4])]
    past = api.get("/documents", params={"offset": 10}).json()
    assert past == {"total": 5, "offset": 10, "documents": []}


@pytest.mark.parametrize(
    ("q", "sources"),
    [
        ("成都", ["chengdu.md"]),  # in the title
        ("圖書館", ["big5_notes.txt"]),  # the title as written (Traditional)
        ("notes", ["big5_notes.txt", "gbk_notes.txt"]),  # in the source
        ("  上海养老 ", ["shanghai.html"]),
        ("火星", []),
    ],
)
def test_documents_filtered_by_title_or_source(api, q, sources) -> None:
    page = api.get("/documents", params={"q": q}).json()
    assert page["total"] == len(sources) and [d["source"] for d in page["documents"]] == sources


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"limit": 501}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"q": "x" * 101}, "q")],
)
def test_documents_bad_paging_is_refused(api, params, fragment) -> None:
    response = api.get("/documents", params=params)
    assert response.status_code == 422 and fragment in one_line(response)


# --- changing the library -------------------------------------------------------------------------------------


def test_add_ask_replace_and_remove_a_document(fresh, tiny_assistant, tiny_folder) -> None:
    added = fresh.post("/documents", files=[("files", ("hangzhou.txt", HANGZHOU.encode()))], headers=bearer(ADMIN))
    assert added.status_code == 200
    assert added.json() | {"seconds": 0} == {
        "added": ["hangzhou.txt"], "replaced": [], "removed": [], "unchanged": 5, "skipped": [], "seconds": 0
    }  # fmt: skip
    assert (tiny_folder / "hangzhou.txt").read_text(encoding="utf-8") == HANGZHOU
    assert fresh.get("/documents", params={"q": "hangzhou"}).json()["total"] == 1
    answer = fresh.post("/ask", json={"question": HANGZHOU_QUESTION}).json()
    assert answer["answered"] and answer["sentences"][0]["source"] == "hangzhou.txt"
    assert "1234元" in answer["sentences"][0]["text"]
    check_quotes(tiny_assistant.index, answer)

    newer = HANGZHOU.replace("1234", "1300")
    replaced = fresh.put("/documents/hangzhou.txt", files={"file": ("any.txt", newer.encode())}, headers=bearer(ADMIN))
    assert replaced.status_code == 200
    assert (replaced.json()["added"], replaced.json()["replaced"]) == ([], ["hangzhou.txt"])
    assert (tiny_folder / "hangzhou.txt").read_text(encoding="utf-8") == newer
    answer = fresh.post("/ask", json={"question": HANGZHOU_QUESTION}).json()
    assert "1300元" in answer["sentences"][0]["text"] and "1234" not in json.dumps(answer, ensure_ascii=False)
    check_quotes(tiny_assistant.index, answer)

    removed = fresh.delete("/documents/hangzhou.txt", headers=bearer(ADMIN))
    assert removed.status_code == 200 and removed.json()["removed"] == ["hangzhou.txt"]
    assert fresh.get("/documents", params={"q": "hangzhou"}).json()["total"] == 0
    answer = fresh.post("/ask", json={"question": HANGZHOU_QUESTION}).json()
    assert "hangzhou.txt" not in {q["source"] for q in answer["sentences"] + answer["passages"]}

    again = fresh.delete("/documents/hangzhou.txt", headers=bearer(ADMIN))
    assert again.status_code == 404 and "hangzhou.txt" in one_line(again)


def test_a_document_in_a_subfolder(fresh, tiny_folder) -> None:
    put = fresh.put("/documents/区县/wuhou.txt", files={"file": ("x.txt", HANGZHOU.encode())}, headers=bearer(ADMIN))
    assert put.status_code == 200 and put.json()["added"] == ["区县/wuhou.txt"]
    assert (tiny_folder / "区县" / "wuhou.txt").read_text(encoding="utf-8") == HANGZHOU
    assert fresh.get("/documents", params={"q": "wuhou"}).json()["documents"][0]["source"] == "区县/wuhou.txt"
    removed = fresh.delete("/documents/区县/wuhou.txt", headers=bearer(ADMIN))
    assert removed.status_code == 200 and removed.json()["removed"] == ["区县/wuhou.txt"]


def test_removing_a_document_retires_its_file(fresh, tiny_assistant, tiny_folder) -> None:
    original = (tiny_folder / "tianjin.txt").read_bytes()
    removed = fresh.delete("/documents/tianjin.txt", headers=bearer(ADMIN))
    assert removed.status_code == 200 and removed.json()["removed"] == ["tianjin.txt"]
    assert not (tiny_folder / "tianjin.txt").exists()
    assert (tiny_assistant.index_path / "retired" / "tianjin.txt").read_bytes() == original


@pytest.mark.parametrize("source", ["hangzhou.txt", "区县/hangzhou.txt"])
def test_removing_an_uploaded_document_retires_its_file(fresh, tiny_assistant, tiny_folder, source) -> None:
    put = fresh.put(f"/documents/{source}", files={"file": ("x.txt", HANGZHOU.encode())}, headers=bearer(ADMIN))
    assert put.status_code == 200 and (tiny_folder / source).is_file()
    assert fresh.delete(f"/documents/{source}", headers=bearer(ADMIN)).status_code == 200
    assert (tiny_assistant.index_path / "retired" / source).read_text(encoding="utf-8") == HANGZHOU
    assert not (tiny_folder / source).exists()


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "..\\evil.txt", "a/../../evil.txt", "./../evil.txt", ".hidden.txt", "sub/.git/evil.txt",
     "bad\x01name.txt", "tab\tname.txt", "del\x7fname.txt", "", "/", "x" * 252 + ".txt"],
)  # fmt: skip
def test_unsafe_upload_names_are_refused(api, shared, name) -> None:
    before, files = state(shared), files_under(root(shared))
    body, headers = upload(name, HANGZHOU.encode())
    response = api.post("/documents", content=body, headers=headers | bearer(ADMIN))
    assert response.status_code == 400, response.text
    one_line(response)
    assert state(shared) == before and files_under(root(shared)) == files


@pytest.mark.parametrize("source", ["..%2Fevil.txt", "a%2F..%2F..%2Fevil.txt", ".hidden.txt", "bad%01name.txt"])
def test_unsafe_source_paths_are_refused(api, shared, source) -> None:
    before, files = state(shared), files_under(root(shared))
    response = api.put(f"/documents/{source}", files={"file": ("x.txt", HANGZHOU)}, headers=bearer(ADMIN))
    assert response.status_code == 400 and one_line(response)
    assert state(shared) == before and files_under(root(shared)) == files


def test_an_absolute_name_is_saved_inside_the_folder(fresh, tiny_folder) -> None:
    outside = Path("/etc/evil.txt")
    assert not outside.exists()
    body, headers = upload("/etc/evil.txt", HANGZHOU.encode())
    response = fresh.post("/documents", content=body, headers=headers | bearer(ADMIN))
    assert response.status_code == 200 and response.json()["added"] == ["etc/evil.txt"]
    assert (tiny_folder / "etc" / "evil.txt").read_text(encoding="utf-8") == HANGZHOU
    assert not outside.exists()


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("x.exe", b"MZ\x90\x00", ".exe"),
        ("noext", HANGZHOU.encode(), "扩展名"),
        ("fake.pdf", HANGZHOU.encode(), ".pdf"),  # a renamed text file
        ("broken.pdf", b"%PDF-1.4 garbage", ".pdf"),
        ("fake.docx", b"PK\x03\x04garbage", ".docx"),
        ("empty.txt", b"", "空"),
        ("blank.md", b"  \n", "no text"),
        ("binary.txt", b"\xff\xfe\x00\x00\x01", "binary"),
    ],
)
def test_bad_files_change_nothing(api, shared, name, data, fragment) -> None:
    before, files = state(shared), files_under(root(shared))
    good = ("files", ("good.txt", HANGZHOU.encode()))  # sent with it: a bad file refuses the whole request
    response = api.post("/documents", files=[good, ("files", (name, data))], headers=bearer(ADMIN))
    assert response.status_code == 400 and fragment in one_line(response)
    assert state(shared) == before and files_under(root(shared)) == files


def test_the_built_in_documents_cannot_be_changed(fake_encoder, monkeypatch, tmp_path) -> None:
    built_in = Assistant(encoder=fake_encoder, progress=False)
    monkeypatch.setattr(built_in, "_default_index", lambda: pytest.fail("the default index was opened"))
    library = Library(built_in)
    assert library.writable is False
    # the file does not exist: any work on it before refusing would fail with another error
    with pytest.raises(LibraryError, match="built-in documents cannot be changed"):
        library.add([("new.txt", tmp_path / "missing.txt")])
    response = client(library).post("/documents", files=[("files", ("new.txt", HANGZHOU))], headers=bearer(ADMIN))
    assert response.status_code == 400 and "qa serve --index" in one_line(response)


def test_a_name_too_long_for_the_file_system_is_refused(library, tmp_path) -> None:
    files = files_under(tmp_path)
    name = "长" * 100 + ".txt"  # 104 characters, 304 bytes
    body, headers = upload(name, HANGZHOU.encode())
    response = client(library, raise_server_exceptions=False).post(
        "/documents", content=body, headers=headers | bearer(ADMIN)
    )
    assert response.status_code == 400 and files_under(tmp_path) == files


def test_an_upload_keeps_its_own_name_for_the_title(fresh, tiny_assistant, tiny_folder) -> None:
    long_line = (
        "杭州市" + "关于调整城乡居民最低生活保障标准有关事项的通知" * 3 + "\n"
    )  # no title: too long a first line
    files = [("files", ("杭州通知.txt", (long_line + HANGZHOU).encode(), "text/plain"))]
    assert fresh.post("/documents", files=files, headers=bearer(ADMIN)).status_code == 200
    entry = next(e for e in Library(tiny_assistant).entries() if e.source == "杭州通知.txt")
    assert entry.title == "杭州通知"  # the file's own name, never a staging name
    assert not [
        p for p in tiny_folder.rglob("*") if any(part.startswith(".") for part in p.relative_to(tiny_folder).parts)
    ]


def test_a_library_of_several_folders_changes_the_file_where_it_lives(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    shutil.copytree(TINY, second)
    (first / "a.txt").write_text("长沙市老年人助餐点达到300个。\n", encoding="utf-8")
    build_folder([first, second], tmp_path / "index", FakeEncoder(), progress=False)
    library = Library(Assistant(tmp_path / "index", encoder=FakeEncoder(), progress=False))
    api = client(library)
    replaced = api.put("/documents/chengdu.md", files={"file": ("chengdu.md", "# 成都\n成都市低保标准为每人每月800元。\n")},
                       headers=bearer(ADMIN))  # fmt: skip
    assert replaced.status_code == 200 and replaced.json()["replaced"] == ["chengdu.md"]
    assert "800元" in (second / "chengdu.md").read_text(encoding="utf-8") and not (first / "chengdu.md").exists()
    assert api.delete("/documents/chengdu.md", headers=bearer(ADMIN)).status_code == 200
    assert not (second / "chengdu.md").exists() and (tmp_path / "index" / "retired" / "chengdu.md").is_file()
    from index.update import update

    assert "chengdu.md" not in update(tmp_path / "index", FakeEncoder(), progress=False).added  # stays removed


def test_removing_a_link_moves_the_link_not_what_it_points_to(fresh, tiny_assistant, tiny_folder, tmp_path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("广州市托育补贴为每月500元。\n", encoding="utf-8")
    (tiny_folder / "linked.txt").symlink_to(outside)
    from index.update import update

    update(tiny_assistant.index_path, tiny_assistant._encoder, progress=False)
    assert fresh.delete("/documents/linked.txt", headers=bearer(ADMIN)).status_code == 200
    assert outside.is_file() and (tiny_assistant.index_path / "retired" / "linked.txt").is_symlink()


def test_an_anonymous_upload_is_cut_short(shared) -> None:
    body = b"x" * (MAX_JSON_BYTES + 10)
    response = client(shared).post("/documents", content=body, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413  # the body is refused before it is read: no one fills the disk


def test_answers_keep_coming_while_a_write_commits(library, tiny_assistant) -> None:
    app = create_api(library, Tokens(ADMIN))
    state(library)  # opened before the first question, as `qa serve` does (warm)
    start, written = threading.Barrier(4), threading.Event()
    asked: list[tuple[float, float, int, dict]] = []  # (sent, answered, status, body)
    write: list[tuple[float, float, int]] = []  # (sent, answered, status)

    def reader() -> None:
        c = TestClient(app, raise_server_exceptions=False)  # a failure is a status here, not a dead thread
        start.wait()
        while True:
            done_before, sent = written.is_set(), time.monotonic()
            response = c.post("/ask", json={"question": CHENGDU})
            asked.append((sent, time.monotonic(), response.status_code, response.json()))
            if done_before:  # one more question after the commit, then stop
                return

    def writer() -> None:
        c = TestClient(app, raise_server_exceptions=False)
        start.wait()
        sent, files = time.monotonic(), [("files", ("chongqing.txt", HANGZHOU.replace("杭州", "重庆").encode()))]
        try:
            status = c.post("/documents", files=files, headers=bearer(ADMIN)).status_code
            write.append((sent, time.monotonic(), status))
        finally:
            written.set()  # the readers stop even when the write failed

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    write_sent, write_done, write_status = write[0]
    assert write_status == 200
    failed = [(status, body) for _, _, status, body in asked if status != 200]
    assert len(asked) >= 6 and not failed, failed[:3]
    assert any(sent < write_done and answered > write_sent for sent, answered, _, _ in asked)  # they overlapped
    for _, _, _, answer in asked:  # chengdu.md is unchanged by the write: its offsets hold in the last commit
        assert answer["sentences"][0]["source"] == "chengdu.md"
        check_quotes(tiny_assistant.index, answer)
    assert [e.source for e in library.entries("chongqing")] == ["chongqing.txt"]


def test_an_answer_in_flight_outlives_two_commits(library, tiny_assistant, fake_encoder, monkeypatch) -> None:
    app = create_api(library, Tokens(ADMIN))
    state(library)  # opened (and warmed up) before the question is held
    encoding, go_on, result = threading.Event(), threading.Event(), {}
    encode = fake_encoder.encode

    def held(texts: list[str], kind: str, progress: bool = False):
        if kind == "query":  # the question has its commit (Assistant._current) and waits here
            encoding.set()
            go_on.wait(30)
        return encode(texts, kind, progress)

    monkeypatch.setattr(fake_encoder, "encode", held)

    def ask() -> None:
        result["response"] = TestClient(app, raise_server_exceptions=False).post("/ask", json={"question": CHENGDU})

    question = threading.Thread(target=ask)
    question.start()
    assert encoding.wait(30)
    for n in range(2):
        files = [("files", (f"city{n}.txt", HANGZHOU.replace("杭州", f"城{n}").encode()))]
        assert client(library).post("/documents", files=files, headers=bearer(ADMIN)).status_code == 200
    go_on.set()
    question.join(timeout=60)
    assert result["response"].status_code == 200, result["response"].text


def test_a_commit_while_the_index_reopens_is_not_missed(library, fresh, monkeypatch) -> None:
    import qa.assistant

    state(library)
    files = [("files", ("a.txt", HANGZHOU.encode()))]
    assert fresh.post("/documents", files=files, headers=bearer(ADMIN)).status_code == 200
    opening, late = qa.assistant.Index, []

    def open_then_commit(path, encoder):
        index = opening(path, encoder)
        if not late:  # the next change commits just after the new commit was read
            late.append(library.add([("b.txt", write_file(path.parent / "b.txt", HANGZHOU))]))
        return index

    monkeypatch.setattr(qa.assistant, "Index", open_then_commit)
    assert fresh.get("/documents", params={"q": ".txt"}).status_code == 200  # the question that reopens
    monkeypatch.setattr(qa.assistant, "Index", opening)
    assert late and late[0].added == ["b.txt"]
    sources = [d["source"] for d in fresh.get("/documents", params={"q": ".txt"}).json()["documents"]]
    assert "a.txt" in sources and "b.txt" in sources, sources


def write_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- fuzzing from the OpenAPI document ------------------------------------------------------------------------

# The document does not depend on the library, so it is read once from an app over none; each test case is
# sent to an app over the tiny corpus with the admin token, so every write route is reached.
schema = schemathesis.openapi.from_dict(create_api(Library(None), Tokens()).openapi())


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Library:
    """A library of the fuzz's own: its writes may succeed."""
    return tiny_library(tmp_path_factory.mktemp("fuzzed"))


@pytest.fixture(scope="module")
def admin_app(fuzzed):
    return create_api(fuzzed, Tokens(ADMIN))


@schema.parametrize()
@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case, admin_app) -> None:
    case.call_and_validate(app=admin_app, headers=bearer(ADMIN), checks=[not_a_server_error])


# --- end to end: `qa serve` with the real model ---------------------------------------------------------------

JSON = {"Content-Type": "application/json"}


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def ask(base: str, question: str) -> dict:
    status, answer = call(f"{base}/ask", "POST", json.dumps({"question": question}).encode(), JSON)
    assert status == 200, answer
    return answer


@pytest.mark.slow
def test_serve_answers_and_changes_the_library_over_http(tmp_path) -> None:
    folder, index, log = tmp_path / "docs", tmp_path / "index", tmp_path / "serve.log"
    shutil.copytree(TINY, folder)
    qa = [sys.executable, "-m", "app.cli"]
    subprocess.run([*qa, "index", "build", str(folder), "--out", str(index)], cwd=ROOT, check=True)
    serve = ("--index", str(index), "--feedback-file", str(tmp_path / "fb.jsonl"))
    environment = {"MQ_ADMIN_TOKEN": ADMIN, "MQ_READ_TOKEN": ""}  # reads open, whatever this shell has set
    with serving(log, *serve, extra_env=environment, ready=f"{PREFIX}/openapi.json") as site:
        base = site + PREFIX
        answer = ask(base, "成都城乡最低生活保障标准是多少?")
        assert answer["answered"] and answer["sentences"][0]["source"] == "chengdu.md"
        assert "700元" in answer["sentences"][0]["text"]

        body, headers = upload("hangzhou_notice.txt", HANGZHOU.encode())
        status, refused = call(f"{base}/documents", "POST", body, headers)
        assert status == NOT_ADMIN and "needs the admin token" in refused["detail"]  # on: MQ_ADMIN_TOKEN was read
        status, change = call(f"{base}/documents", "POST", body, headers | bearer(ADMIN))
        assert status == 200 and change["added"] == ["hangzhou_notice.txt"], change
        answer = ask(base, HANGZHOU_QUESTION)
        assert answer["sentences"][0]["source"] == "hangzhou_notice.txt" and "1234元" in answer["sentences"][0]["text"]

        status, change = call(f"{base}/documents/hangzhou_notice.txt", "DELETE", headers=bearer(ADMIN))
        assert status == 200 and change["removed"] == ["hangzhou_notice.txt"], change
        assert (index / "retired" / "hangzhou_notice.txt").is_file() and not (folder / "hangzhou_notice.txt").exists()
        answer = ask(base, HANGZHOU_QUESTION)
        assert "hangzhou_notice.txt" not in {q["source"] for q in answer["sentences"] + answer["passages"]}

        with urllib.request.urlopen(f"{site}/", timeout=30) as page:
            assert page.status == 200 and b"gradio" in page.read().lower()
