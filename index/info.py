"""What an index holds, for `qa index info`: read from its manifest and catalogue, without loading a model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.commit import StoreError, live_files, read_manifest
from index.tables import connect_readonly


def describe(path: Path) -> dict:
    """Counts, size on disk, model, folders, build time and the catalogue of the index at `path`."""
    path = Path(path)
    manifest = read_manifest(path)
    try:
        db = connect_readonly(live_files(path, manifest))
        rows = db.execute("SELECT source, title, place, version, chars FROM documents ORDER BY id").fetchall()
        db.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a readable index ({exc}); rebuild it with qa index build") from None
    keys = ("source", "title", "place", "version", "chars")
    return {
        "documents": manifest.get("documents"),
        "passages": manifest.get("passages"),
        "sentences": manifest.get("sentences"),
        "bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),  # a kept generation too
        "model": manifest.get("model"),
        "dim": manifest.get("dim"),
        "faiss_factory": manifest.get("faiss_factory"),
        "precision": manifest.get("precision"),  # what the vectors were computed in (None: before it was recorded)
        "precision_reason": manifest.get("precision_reason"),
        "format_version": manifest.get("format_version"),
        "folders": manifest.get("folders", []),
        "built": manifest.get("built"),
        "updated": manifest.get("updated"),  # the last update, add or remove (None: never changed)
        "generation": manifest.get("generation"),
        "files": [dict(zip(keys, row)) for row in rows],
    }


def render_info(info: dict) -> str:
    """The description as a few lines of text (the file list is only counted)."""
    chars = sum(f["chars"] for f in info["files"])
    places = len({f["place"] for f in info["files"] if f["place"]})
    return "\n".join(
        [
            f"documents  {info['documents']:,} ({chars:,} characters, {places} places)",
            f"passages   {info['passages']:,}   sentences {info['sentences']:,}",
            f"on disk    {info['bytes'] / 1e6:,.1f} MB",
            f"model      {info['model']} ({info['dim']}-d, FAISS {info['faiss_factory']})",
            f"precision  {info['precision'] or 'not recorded'}"
            + (f" ({r})" if (r := info["precision_reason"]) else ""),
            f"folders    {', '.join(info['folders']) or '(built from documents, not folders)'}",
            f"built      {info['built']}   updated {info['updated'] or 'never'}   format {info['format_version']}",
        ]
    )
