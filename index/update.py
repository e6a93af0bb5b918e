"""Keep an index current in place: add, replace and remove documents, embedding only what is new.

Every change writes a new generation of the index (the unchanged documents' segmentation and vectors
copied from the live one) and commits it with one rename, under the index's write lock: a change killed
at any moment leaves the index as it was, and a reader sees it before or after, never between.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from index import commit, store
from index.builder import BuildReport, build, folder_files, read_files
from index.ingest import IngestError, read_document
from index.types import Document, TextEncoder


@dataclass
class Change:
    """What a change did to an index, by source name."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # "name: reason"
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def update(path: Path, encoder: TextEncoder, progress: bool = True) -> Change:
    """Re-scan the folders the index was built from: read new and changed files, drop deleted ones.

    Documents that came from no folder (`add`ed files) are kept. A file that cannot be read is skipped
    (its previous version, if any, stays).
    """
    with commit.locked(path):
        index = store.Index(path, encoder)
        folders = [Path(f) for f in index.manifest.get("folders", [])]
        if not folders:
            raise commit.StoreError(f"index at {path} was built from no folders; use qa index add / remove")
        for folder in folders:
            if not folder.is_dir():
                raise commit.StoreError(f"folder {folder} that index {path} was built from is gone; nothing changed")
        files = folder_files(folders)
        known = {info.source: info.digest for info in index.catalog}
        changed = [(p, source) for p, source in files if known.get(source) != _digest(p)]
        report = BuildReport()
        fresh = read_files(changed, report, progress=progress)
        on_disk = {source for _, source in files}
        gone = [info.source for info in index.catalog if info.source not in on_disk and _under(info.origin, folders)]
        return _apply(index, encoder, fresh, gone, report.skipped, progress)


def add(path: Path, files: list[tuple[Path, str]], encoder: TextEncoder, progress: bool = True) -> Change:
    """Add (or replace, when the source is already there) documents read from (path, source) pairs.

    A file that cannot be read is an error and nothing changes.
    """
    documents = []
    for file, source in files:
        if not Path(file).is_file():
            raise IngestError(f"{file}: no such file")
        documents.append(read_document(Path(file), source))
    with commit.locked(path):
        return _apply(store.Index(path, encoder), encoder, documents, [], [], progress)


def remove(path: Path, sources: list[str], encoder: TextEncoder, progress: bool = True) -> Change:
    """Remove documents by source, with every sentence and vector of theirs."""
    with commit.locked(path):
        index = store.Index(path, encoder)
        missing = [s for s in sources if index.by_source(s) is None]
        if missing:
            raise commit.StoreError(f"index at {path} has no document {missing[0]!r}; see qa index info {path}")
        return _apply(index, encoder, [], sources, [], progress)


def _apply(
    index: store.Index, encoder: TextEncoder, fresh: list[Document], gone: list[str], skipped, progress
) -> Change:
    t0 = time.perf_counter()
    change = Change(skipped=list(skipped))
    incoming = {doc.source: doc for doc in fresh}
    documents = []
    for d, info in enumerate(index.catalog):
        if info.source in gone:
            change.removed.append(info.source)
        elif info.source in incoming:
            doc = incoming.pop(info.source)
            same = info.digest == doc.digest or index.documents[d].text == doc.text
            documents.append(doc)
            if same:
                change.unchanged += 1
            else:
                change.replaced.append(info.source)
        else:
            documents.append(index.documents[d])
            change.unchanged += 1
    documents += incoming.values()
    change.added = list(incoming)
    if not documents:
        raise commit.StoreError(f"that would leave index {index.path} with no documents; nothing changed")
    if change.changed:
        manifest = {k: index.manifest[k] for k in ("folders", "built") if k in index.manifest}
        manifest["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        mode = index.manifest.get("sentence_vectors", "own")
        build(documents, index.path, encoder, progress, reuse=index, sentence_vectors=mode, manifest=manifest)
    change.seconds = time.perf_counter() - t0
    return change


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _under(origin: str, folders: list[Path]) -> bool:
    return bool(origin) and any(Path(origin).is_relative_to(os.path.abspath(f)) for f in folders)
