"""One browser session: its conversation and its own uploaded documents, kept apart from everyone else's.

The shared assistant over the default corpus is never changed. An upload builds a new index for this
session only (the default documents plus the session's files, embedding only the new ones) in a folder
that is removed when the session ends.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from index import SUFFIXES
from qa.assistant import Assistant
from qa.types import Answer

MAX_UPLOAD_MB = 10
MAX_FILES = 10
UPLOAD_TYPES = tuple(s for s in SUFFIXES if s != ".htm")  # what the upload box lists; .htm is still accepted
_MAGIC = {".pdf": b"%PDF", ".docx": b"PK"}  # a renamed file of another kind is refused before it is parsed


@dataclass
class Session:
    """A conversation (answered turns, oldest first) and, after an upload, this session's own assistant."""

    turns: list[Answer] = field(default_factory=list)
    assistant: Assistant | None = None
    folder: Path | None = None
    uploads: list[str] = field(default_factory=list)

    @property
    def history(self) -> list[str]:
        """The earlier questions as the user asked them: what follow-ups are completed from."""
        return [t.question for t in self.turns]


def check_upload(path: Path) -> str | None:
    """Why `path` cannot be added (type, size, content), or None when it may be indexed."""
    path = Path(path)
    name, suffix = path.name, path.suffix.lower()
    if suffix not in SUFFIXES:
        return f"{name}：不支持的文件类型 {suffix or '（无扩展名）'}，请上传 {' '.join(UPLOAD_TYPES)} 文件"
    size = path.stat().st_size
    if size == 0:
        return f"{name}：文件是空的"
    if size > MAX_UPLOAD_MB * 1_000_000:
        return f"{name}：文件有 {size / 1_000_000:.1f} MB，超过每个文件 {MAX_UPLOAD_MB} MB 的上限"
    magic = _MAGIC.get(suffix)
    if magic and path.read_bytes()[: len(magic)] != magic:
        return f"{name}：内容不是有效的 {suffix} 文件"
    return None


def add_files(base: Assistant, session: Session, files: list[Path], root: Path) -> tuple[list[str], list[str]]:
    """Index `files` for `session` only; returns (names added, reasons for the files skipped)."""
    files = [Path(f) for f in files]
    skipped = [f"一次最多上传 {MAX_FILES} 个文件，{f.name} 未处理" for f in files[MAX_FILES:]]
    good = []
    for f in files[:MAX_FILES]:
        problem = check_upload(f)
        (skipped if problem else good).append(problem or f)
    if not good:
        return [], skipped
    if session.folder is None:
        session.folder = Path(tempfile.mkdtemp(prefix="session-", dir=root))
    out = session.folder / f"index-{uuid.uuid4().hex[:8]}"
    # each upload builds on this session's latest index, so earlier uploads stay askable
    assistant, report = (session.assistant or base).with_documents(good, out, progress=True)
    assistant.warm_up()  # load now, so the first question about the new file is quick
    session.assistant = assistant
    session.uploads += report.indexed
    return report.indexed, skipped + report.skipped


def close_session(session: Session | None) -> None:
    """Remove a finished session's uploaded-document index (Gradio calls this when the session state expires)."""
    if session is not None and session.folder is not None:
        shutil.rmtree(session.folder, ignore_errors=True)
