"""The HTTP API that `qa serve` runs beside the chat: /api/v1, described by /api/v1/openapi.json.

Reads (ask, ask a batch, describe the library, list its documents) are open unless the server was started
with a read token. Writes (add, replace, remove documents) need the admin token and answer 403 on a server
started without one. Tokens come from the environment or a file, never from the command line, and are
compared in constant time. An answer is the object `qa ask --json` prints.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from app.chat_session import MAX_FILES, MAX_UPLOAD_MB
from app.chat_ui import ANSWER_LIMIT
from app.library import Library, LibraryError, NotInLibrary, source_name
from app.tokens import TOKEN_VARIABLES, Tokens
from index import Change, IngestError, StoreError, describe
from qa.question import BadQuestion

PREFIX = "/api/v1"
MAX_JSON_BYTES = 64_000  # a question with its history fits many times over
MAX_UPLOAD_BYTES = MAX_FILES * MAX_UPLOAD_MB * 1_000_000 + 100_000  # files and the multipart framing
MAX_BATCH = 50


class AskRequest(BaseModel):
    question: str = Field(max_length=500, examples=["天津农村特困人员分散供养每月多少钱?"])
    history: list[str] = Field(default_factory=list, max_length=20, description="earlier questions, oldest first")
    place: str | None = Field(None, description="only documents about this place, e.g. 天津")
    source: str | None = Field(None, description="only this document (its source, as /documents lists it)")


class BatchItem(BaseModel):
    id: str | None = None
    question: str = Field(max_length=500)
    history: list[str] = Field(default_factory=list, max_length=20)


class BatchRequest(BaseModel):
    items: list[BatchItem] = Field(max_length=MAX_BATCH)
    place: str | None = None
    source: str | None = None


class QuoteOut(BaseModel):
    text: str = Field(description="equals the document's original text[start:end]")
    source: str
    title: str
    section: str | None = Field(None, description="the heading it falls under (sentences only)")
    start: int
    end: int
    score: float
    version: str
    superseded: bool = Field(description="a newer version of the same regulation is in the library")
    page: int | None = Field(None, description="the PDF page the quote starts on (PDFs only)")


class AnswerOut(BaseModel):
    id: str | None = None
    question: str
    resolved_question: str = Field(description="the question as searched, completed from the history")
    answered: bool = Field(description="false: the documents do not answer it (未在文档中找到答案)")
    confidence: float
    sentences: list[QuoteOut] = Field(description="the answer: quoted sentences, best first")
    passages: list[QuoteOut] = Field(description="the passages retrieved, for context")


class BatchOut(BaseModel):
    answers: list[AnswerOut]


class DocumentOut(BaseModel):
    source: str
    title: str
    place: str
    version: str
    chars: int


class DocumentPage(BaseModel):
    total: int = Field(description="documents matching the query")
    offset: int
    documents: list[DocumentOut]


class ChangeOut(BaseModel):
    added: list[str]
    replaced: list[str]
    removed: list[str]
    unchanged: int
    skipped: list[str] = Field(description="committed, but the file could not be moved: why, one line each")
    seconds: float


_bearer = HTTPBearer(auto_error=False, description="the read token for reads (when set), the admin token for writes")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def create_api(library: Library, tokens: Tokens) -> FastAPI:
    """The /api/v1 application: mount it on the chat's server."""
    api = FastAPI(
        title="民生问答 API",
        version="1",
        description=__doc__,
        docs_url=None,  # the interactive pages load scripts from the internet; the OpenAPI document is enough
        redoc_url=None,
    )
    answering = anyio.Semaphore(ANSWER_LIMIT)  # waiting requests hold no worker thread
    assistant = library.assistant

    def reader(credentials: Credentials) -> None:
        if not tokens.reads(credentials.credentials if credentials else None):
            raise HTTPException(
                401, "a read token is needed: Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"}
            )

    def writer(credentials: Credentials) -> None:
        if tokens.admin is None:
            raise HTTPException(403, f"changing the library is off: start qa serve with {TOKEN_VARIABLES['admin']} set")
        if not tokens.writes(credentials.credentials if credentials else None):
            raise HTTPException(
                403,
                "changing the library needs the admin token: Authorization: Bearer TOKEN",
                {"WWW-Authenticate": "Bearer"},
            )

    reads, writes = [Depends(reader)], [Depends(writer)]
    answers = {"dependencies": reads, "response_model_exclude_none": True}  # no "id": null, as qa ask --json

    @api.post("/ask", response_model=AnswerOut, summary="Answer one question", **answers)
    async def ask(body: AskRequest) -> dict:
        async with answering:
            answer = await run_in_threadpool(assistant.answer, body.question, body.history, body.place, body.source)
        return answer.to_json()

    @api.post("/ask/batch", response_model=BatchOut, summary="Answer several questions", **answers)
    async def ask_batch(body: BatchRequest) -> dict:
        items = [(item.question, item.history) for item in body.items]
        async with answering:
            answers = await run_in_threadpool(assistant.answer_batch, items, body.place, body.source)
        return {"answers": [a.to_json(item.id) for a, item in zip(answers, body.items)]}

    @api.get("/library", dependencies=reads, summary="Describe the library (qa index info --json)")
    def library_info() -> dict:
        return describe(assistant.index.path) | {"writable": library.writable and tokens.admin is not None}

    @api.get("/documents", response_model=DocumentPage, dependencies=reads, summary="List documents, a page at a time")
    def documents(
        q: Annotated[str, Query(max_length=100, description="part of a title or source")] = "",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict:
        entries = library.entries(q)
        return {"total": len(entries), "offset": offset, "documents": entries[offset : offset + limit]}

    @api.post("/documents", response_model=ChangeOut, dependencies=writes, summary="Add or replace documents")
    def add(files: Annotated[list[UploadFile], File(description=f"at most {MAX_FILES}, each ≤ {MAX_UPLOAD_MB} MB")]):
        if len(files) > MAX_FILES:
            raise LibraryError(f"at most {MAX_FILES} files at once")
        return _change(library, [(f.filename or "", f) for f in files])

    @api.put("/documents/{source:path}", response_model=ChangeOut, dependencies=writes, summary="Add or replace one")
    def replace(source: str, file: Annotated[UploadFile, File()]):
        return _change(library, [(source, file)])

    @api.delete("/documents/{source:path}", response_model=ChangeOut, dependencies=writes, summary="Remove one")
    def remove(source: str):
        return _change_out(library.remove([source]))

    for error, status in ((BadQuestion, 400), (NotInLibrary, 404), (LibraryError, 400), (IngestError, 400)):
        api.add_exception_handler(error, _status(status))
    api.add_exception_handler(StoreError, _status(409))
    api.add_exception_handler(RequestValidationError, _invalid)
    api.add_middleware(BodyLimit, tokens=tokens)
    return api


def _change(library: Library, uploads: list[tuple[str, UploadFile]]) -> dict:
    """Save the uploads under their (checked) names in a temporary folder, then add them to the library."""
    with tempfile.TemporaryDirectory(prefix="mq-api-") as tmp:
        files = []
        for n, (name, upload) in enumerate(uploads):
            source = source_name(name)
            path = Path(tmp) / str(n) / Path(source).name
            path.parent.mkdir()
            with path.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            files.append((source, path))
        return _change_out(library.add(files))


def _change_out(change: Change) -> dict:
    fields = ("added", "replaced", "removed", "unchanged", "skipped")
    return {k: getattr(change, k) for k in fields} | {"seconds": round(change.seconds, 3)}


def _status(status: int):
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """One line a person can act on, not pydantic's list of dicts."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)


class BodyLimit:
    """Refuse a request body over its limit with 413 before reading all of it: 64 kB, and room for uploads
    only for a request to /documents that carries the admin token (nobody else gets to fill the disk)."""

    def __init__(self, app, tokens: Tokens):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        bearer = headers.get(b"authorization", b"").decode("latin-1").removeprefix("Bearer ").strip()
        uploading = "/documents" in scope["path"] and self.tokens.writes(bearer or None)
        limit = MAX_UPLOAD_BYTES if uploading else MAX_JSON_BYTES
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"request body over {limit:,} bytes")
            return message

        return await self.app(scope, counted, send)


async def _too_large(send, limit: int) -> None:
    response = JSONResponse({"detail": f"request body over {limit:,} bytes"}, status_code=413)
    await response({"type": "http"}, None, send)
