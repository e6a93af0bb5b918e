"""The commit protocol of an index folder: generations of files, one write lock, an atomic manifest.

    manifest.json   the commit point: how the index was built and which generation is live; replacing this one
                    file (an atomic rename, after every byte is on disk) commits a build or an update
    .lock           an flock held while a build or update writes (a second writer refuses)
    g000007/        a generation: immutable once committed; the previous one is kept for readers still
                    answering from it, older and unfinished ones are removed by the next writer

What goes inside a generation is the store's business (index/store.py); this module only makes, commits
and removes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

MANIFEST = "manifest.json"
LOCK = ".lock"
GENERATION = re.compile(r"g(\d{6})")
LEGACY_FILES = ("index.sqlite", "passage_vectors.npy", "sentence_vectors.npy", "passages.faiss", "bm25")
_HELD: set[Path] = set()  # index folders whose write lock this process holds


class StoreError(Exception):
    """An index that is missing, damaged or built differently; the message says how to rebuild."""


def write_generation(out: Path, fill: Callable[[Path], dict], manifest: dict) -> None:
    """Make a new generation at `out`, have `fill(folder)` write its files (it returns what the manifest adds),
    and commit it.

    Until the commit readers see the index as it was; a writer killed at any moment leaves the previous index
    whole, and its unfinished generation is removed by the next writer.
    """
    out = Path(out)
    with locked(out):
        previous = _live_generation(out)
        number = max([int(m[1]) for p in out.iterdir() if (m := GENERATION.fullmatch(p.name))], default=0) + 1
        generation = out / f"g{number:06d}"
        _remove_generations(out, keep={previous})
        generation.mkdir()
        try:
            manifest = manifest | fill(generation) | {"generation": generation.name}
            _sync_tree(generation)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)  # a killed writer's is removed by the next one
            raise
        _commit(out, manifest)
        # the generation just replaced stays for questions still being answered from it
        _remove_generations(out, keep={previous, generation.name})
        for name in LEGACY_FILES:  # an index of format ≤ 5 kept its files beside the manifest
            legacy = out / name
            if legacy.is_dir():
                shutil.rmtree(legacy, ignore_errors=True)
            else:
                legacy.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path):
    """Hold the write lock of the index at `path` (created if need be); a second writer gets StoreError.

    The lock is an flock, so a killed writer releases it with its last breath.
    """
    path = Path(path)
    if path.resolve() in _HELD:  # this process holds it already (an update calls write)
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    if not (path / MANIFEST).exists() and not all(_ours(p.name) for p in path.iterdir()):
        raise StoreError(f"{path} exists and is not an index; choose another --out")
    with open(path / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise StoreError(
                f"another build or update of {path} is running (pid {holder}); try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD.add(path.resolve())
        try:
            yield
        finally:
            _HELD.discard(path.resolve())
            if not (path / MANIFEST).exists():  # a first build that failed leaves no folder behind
                (path / LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.rmdir()


def _ours(name: str) -> bool:
    """A name this store writes in an index folder (what a killed first build may have left)."""
    return name in (LOCK, MANIFEST) or bool(GENERATION.fullmatch(name)) or name.startswith(f".{MANIFEST}.")


def _live_generation(path: Path) -> str | None:
    return read_manifest(path).get("generation") if (path / MANIFEST).exists() else None


def _remove_generations(path: Path, keep: set[str | None]) -> None:
    """Remove the generations not in `keep`, and manifests a killed writer left unrenamed."""
    for p in path.iterdir():
        if GENERATION.fullmatch(p.name) and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{MANIFEST}."):
            p.unlink(missing_ok=True)


def _commit(path: Path, manifest: dict) -> None:
    """Replace the manifest in one atomic rename, after its bytes and the generation's are on disk."""
    tmp = path / f".{MANIFEST}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, ensure_ascii=False, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / MANIFEST)
    _fsync_dir(path)


def _sync_tree(path: Path) -> None:
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())
    for d in [path, *(p for p in path.rglob("*") if p.is_dir())]:
        _fsync_dir(d)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(path: Path) -> dict:
    """The manifest of the index at `path`, or StoreError saying there is none."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.exists():
        raise StoreError(f"no index at {path} (no {MANIFEST}); build one with: qa index build FOLDER --out {path}")
    try:
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError(f"index manifest at {manifest_path} is unreadable; {rebuild_hint(path)}") from None


def commit_stamp(path: Path) -> tuple[int, int] | None:
    """Changes whenever a build or update of the index at `path` commits (a stat, no read)."""
    try:
        st = os.stat(Path(path) / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def live_files(path: Path, manifest: dict) -> Path:
    """The folder of the generation `manifest` names (the index's files as of that commit)."""
    generation = manifest.get("generation")
    if not isinstance(generation, str) or not GENERATION.fullmatch(generation):
        raise StoreError(f"index at {path} names no generation of files; {rebuild_hint(path)}")
    return Path(path) / generation


def rebuild_hint(path: Path) -> str:
    return f"rebuild it with: qa index build SOURCE_FOLDER --out {path}"
