"""The served library as staff see and change it, shared by the HTTP API and the chat's library tab.

An uploaded file is saved into the library's folder (the first folder its index was built from), so a later
`qa index update` finds it where a person would put it; a removed document's file moves to the index's
`retired/` folder. Every change commits atomically while questions keep being answered from the last commit.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.chat_session import check_upload
from index.commit import read_manifest
from index.update import Change
from qa.assistant import Assistant

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Entry:
    """One document of the library, as listed."""

    source: str
    title: str
    place: str
    version: str
    chars: int


class LibraryError(ValueError):
    """A change that cannot be made, in one line a person can act on."""


class NotInLibrary(LibraryError):
    """A document asked for by a source the library does not hold."""


class Library:
    """The documents of `assistant`'s index: listed for everyone, changed by whoever holds the admin token."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._writing = threading.Lock()  # one change at a time; questions are not held up by it

    def entries(self, query: str = "") -> list[Entry]:
        """The documents whose title or source contains `query` (all when it is empty), in index order."""
        query = query.strip()
        return [
            Entry(d.source, d.title, d.place, d.version, d.chars)
            for d in self.assistant.index.catalog
            if not query or query in d.title or query in d.source
        ]

    @property
    def writable(self) -> bool:
        """Whether this library can be changed at all (the built-in documents cannot)."""
        return self.assistant.index_path is not None

    def folder(self) -> Path | None:
        """Where uploads are saved: the first folder the index was built from (None when it was built from none)."""
        folders = read_manifest(self._path()).get("folders") or []
        return Path(folders[0]) if folders else None

    def add(self, files: list[tuple[str, Path]]) -> Change:
        """Add or replace documents from uploaded (source, file) pairs; a bad file changes nothing."""
        with self._writing:
            staged = [(source_name(source), Path(path)) for source, path in files]
            folder = self.folder()
            kept = []  # (the upload, its source, where its file is kept once committed)
            for source, path in staged:
                if problem := check_upload(path):
                    raise LibraryError(problem)
                kept.append((path, source, _inside(folder, source) if folder else None))
            partial = []
            try:
                for path, source, home in kept:
                    partial.append((_stage(path, home), source, home))
                change = self.assistant.add_documents([(p, s) for p, s, _ in partial])
            except BaseException as exc:
                for p, _, home in partial:
                    if home is not None:
                        p.unlink(missing_ok=True)
                if isinstance(exc, OSError):
                    raise LibraryError(f"cannot save into the library folder {folder}: {exc}") from None
                raise
            for p, _, home in partial:
                if home is not None:
                    os.replace(p, home)
            return change

    def remove(self, sources: list[str]) -> Change:
        """Remove documents by source; their files (when in the library folder) move to the index's retired/."""
        with self._writing:
            folder, retired = self.folder(), self._path() / "retired"  # the built-in documents refuse here
            held = {d.source for d in self.assistant.index.catalog}
            missing = [s for s in sources if s not in held]
            if missing:
                raise NotInLibrary(f"the library has no document {missing[0]!r}")
            homes = [(s, _inside(folder, s)) for s in sources] if folder else []  # an upload's, a folder file's place
            change = self.assistant.remove_documents(sources)
            for source, home in homes:
                if home.is_file():
                    (retired / source).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(home, retired / source)
            return change

    def _path(self) -> Path:
        if not self.writable:
            raise LibraryError("the built-in documents cannot be changed; serve your own index: qa serve --index DIR")
        return self.assistant.index_path


def source_name(name: str) -> str:
    """A safe source name from what a client sent: relative, forward slashes, no '..', no hidden parts."""
    parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or len(str(name)) > 1000 or _BAD_NAME.search(str(name)):
        raise LibraryError(f"{name!r} is not a usable file name")
    if any(len(p.encode()) > 255 for p in parts):  # what a file system takes: 255 bytes, ~85 Chinese characters
        raise LibraryError(f"{name[:40]!r}…: a file name may be at most 255 bytes (about 85 Chinese characters)")
    if any(p == ".." or p.startswith(".") for p in parts):
        raise LibraryError(f"{name!r}: a file name may not climb out of the library or be hidden")
    return "/".join(parts)


def _inside(folder: Path, source: str) -> Path:
    target = (folder / source).resolve()
    if not target.is_relative_to(folder.resolve()):  # a link inside the folder pointing out of it
        raise LibraryError(f"{source!r} would be saved outside the library folder")
    if target.is_dir():
        raise LibraryError(f"{source!r} is a folder in the library, not a file")
    return target


def _stage(path: Path, home: Path | None) -> Path:
    """A copy of the upload beside its final place (hidden, so no folder scan sees it), or the upload itself."""
    if home is None:
        return path
    home.parent.mkdir(parents=True, exist_ok=True)
    partial = home.with_name(f".upload-{uuid.uuid4().hex[:8]}-{home.name}")
    shutil.copyfile(path, partial)
    return partial
