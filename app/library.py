"""The served library as staff see and change it, shared by the HTTP API and the chat's library tab.

An uploaded file is saved where its document lives in the library's folders (a new one in the first folder
the index was built from), so a later `qa index update` finds it where a person would put it; a removed
document's file moves to the index's `retired/` folder. The index commits each change atomically while
questions keep being answered from the last commit; the file moves follow the commit, and one that fails is
reported with the change, not raised.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from app.chat_session import check_upload
from index import Change, read_manifest
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

    def folders(self) -> list[Path]:
        """The folders the index was built from (none when it was built from none); uploads go to the first."""
        return [Path(f) for f in read_manifest(self._path()).get("folders") or []]

    def add(self, files: list[tuple[str, Path]]) -> Change:
        """Add or replace documents from uploaded (source, file) pairs; a bad file changes nothing.

        Each upload is staged under its own name in a hidden folder beside its final place (no folder scan
        sees it), indexed from there, and moved into place once the index has committed.
        """
        with self._writing:
            folders = self.folders()
            kept = []  # (the upload, its source, where its file is kept once committed)
            for source, path in [(source_name(source), Path(path)) for source, path in files]:
                if problem := check_upload(path):
                    raise LibraryError(problem)
                kept.append((path, source, _home(folders, source) if folders else None))
            staging = [Path(tempfile.mkdtemp(prefix=".uploading-", dir=folders[0]))] if folders else []
            try:
                try:
                    staged = [(_stage(path, staging, n), source, home) for n, (path, source, home) in enumerate(kept)]
                except OSError as exc:
                    raise LibraryError(f"cannot save into the library folder {folders[0]}: {exc}") from None
                change = self.assistant.add_documents([(p, s) for p, s, _ in staged])
                for p, source, home in staged:
                    if home is not None:
                        _move(change, source, p, home)
            finally:
                for folder in staging:
                    shutil.rmtree(folder, ignore_errors=True)
            return change

    def remove(self, sources: list[str]) -> Change:
        """Remove documents by source; their files (in any of the library's folders) move to the index's retired/."""
        with self._writing:
            folders, retired = self.folders(), self._path() / "retired"  # the built-in documents refuse here
            held = {d.source for d in self.assistant.index.catalog}
            missing = [s for s in sources if s not in held]
            if missing:
                raise NotInLibrary(f"the library has no document {missing[0]!r}")
            homes = [(s, _home(folders, s)) for s in sources] if folders else []
            change = self.assistant.remove_documents(sources)
            for source, home in homes:
                if home.is_file() or home.is_symlink():  # a link moves as the link, never what it points to
                    _move(change, source, home, retired / source)
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


def _home(folders: list[Path], source: str) -> Path:
    """Where the file of `source` lives: in the folder that holds it, else (a new document) in the first."""
    home = next((f / source for f in folders if (f / source).exists() or (f / source).is_symlink()), None)
    home = home or folders[0] / source
    folder = next(f for f in folders if home.is_relative_to(f))
    if not home.parent.resolve().is_relative_to(folder.resolve()):  # a linked folder pointing out of the library
        raise LibraryError(f"{source!r} would be saved outside the library folder")
    if home.is_dir() and not home.is_symlink():
        raise LibraryError(f"{source!r} is a folder in the library, not a file")
    return home


def _stage(path: Path, staging: list[Path], n: int) -> Path:
    """A copy of the upload under its own name in the hidden staging folder (the upload itself when none)."""
    if not staging:
        return path
    copy = staging[0] / str(n) / path.name
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    return copy


def _move(change: Change, source: str, file: Path, to: Path) -> None:
    """Move a committed document's file; a failure is reported with the change, not raised after the commit."""
    try:
        to.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file, to)
    except OSError as exc:
        change.skipped.append(f"{source}: the index has changed, but its file could not be moved ({exc.strerror})")
