"""`qa index`: build an index from folders, describe it, and keep it current (update, add, remove)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from app.cli import add_precision
from index import DEFAULT_MODEL_NAME, SENTENCE_VECTORS


def add_arguments(idx: argparse.ArgumentParser) -> None:
    sub = idx.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="index folders of .txt .md .html .docx .pdf files into one index")
    b.add_argument("folders", type=Path, nargs="+", metavar="FOLDER", help="sources are named relative to these")
    b.add_argument("--out", type=Path, required=True, help="index directory to write (replaced only when complete)")
    b.add_argument("--model", default=DEFAULT_MODEL_NAME, help="sentence-transformers model name or path")
    b.add_argument(
        "--sentence-vectors",
        choices=SENTENCE_VECTORS,
        default=SENTENCE_VECTORS[0],
        help="pooled (default): each sentence's vector from its passage's pass; own: each encoded alone (~1.7x slower)",
    )
    b.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS", help="build on Ray (a local one, or ray://host:port)"
    )
    info = sub.add_parser("info", help="describe an index: counts, size, model, folders, files")
    info.add_argument("index", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    up = sub.add_parser("update", help="re-scan the index's folders: embed new and changed files, drop deleted ones")
    up.add_argument("index", type=Path)
    add = sub.add_parser("add", help="add (or replace) files; a source is the file's name, or --as NAME")
    add.add_argument("files", type=Path, nargs="+", metavar="FILE")
    add.add_argument("--index", type=Path, required=True)
    add.add_argument("--as", dest="name", help="the source name to give the one file added")
    rm = sub.add_parser("remove", help="remove documents by source (as qa index info lists them)")
    rm.add_argument("sources", nargs="+", metavar="SOURCE")
    rm.add_argument("--index", type=Path, required=True)
    for p in (b, up, add, rm):
        p.add_argument("--device", default="auto", help="auto (a GPU when one is visible), cpu or cuda")
        p.add_argument("--verbose", action="store_true", help="print the time each stage took")
        add_precision(p)


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        return _info(args)
    if args.action == "build":
        return _build(args)
    return _change(args)


def _encoder(model: str, device: str, precision: str):
    from index import Encoder, resolve_device
    from qa.assistant import cache_root

    resolve_device(device)  # an impossible --device fails before any work
    encoder = Encoder(model, cache_root=cache_root(), device=device, precision=precision)
    getattr(encoder, "precision", None)  # an impossible --precision fails, its warning shows, before any work
    return encoder


def _build(args) -> int:
    from qa.assistant import build_folder

    t0 = time.perf_counter()
    encoder = None
    if args.ray is not None:
        from index import build_on_ray

        report = build_on_ray(args.folders, args.out, args.model, args.ray, args.device, args.sentence_vectors)
    else:
        encoder = _encoder(args.model, args.device, args.precision)
        report = build_folder(args.folders, args.out, encoder, sentence_vectors=args.sentence_vectors)
    seconds = time.perf_counter() - t0
    if report.skipped:
        _skipped_summary(report.skipped, args.out)
    if args.verbose:
        print("[timing] " + " ".join(f"{k}={v:.1f}" for k, v in report.timings.items()), file=sys.stderr)
        if (precision := getattr(encoder, "precision", None)) is not None:  # (a Ray build's actors choose their own)
            print(f"[precision] {precision.describe()}", file=sys.stderr)
    print(f"indexed {len(report.indexed)} document(s) into {args.out} in {seconds:.1f}s")
    return 0


def _change(args) -> int:
    from index import StoreError, read_manifest, update

    path = args.index
    model = read_manifest(path).get("model") or DEFAULT_MODEL_NAME  # an index is changed with its own model
    encoder = _encoder(model, args.device, args.precision)
    if args.action == "update":
        change = update.update(path, encoder)
    elif args.action == "add":
        if args.name is not None and len(args.files) != 1:
            raise StoreError("--as names one file; add several files without it")
        files = [(f, args.name or f.name) for f in args.files]
        change = update.add(path, files, encoder)
    else:
        change = update.remove(path, args.sources, encoder)
    if change.skipped:
        _skipped_summary(change.skipped, path)
    for verb, sources in (("added", change.added), ("replaced", change.replaced), ("removed", change.removed)):
        for source in sources[:10]:
            print(f"{verb:9} {source}")
        if len(sources) > 10:
            print(f"{verb:9} … and {len(sources) - 10} more")
    counts = f"{len(change.added)} added, {len(change.replaced)} replaced, {len(change.removed)} removed"
    verdict = f"{counts}, {change.unchanged} unchanged" if change.changed else "nothing changed"
    print(f"{path}: {verdict} in {change.seconds:.1f}s")
    return 0


def _skipped_summary(skipped: list[str], out: Path, shown: int = 5) -> None:
    """One block for the files that could not be read, however many: the first few, and a file with all."""
    listing = out / "skipped.txt"
    listing.write_text("\n".join(skipped) + "\n", encoding="utf-8")
    print(f"skipped {len(skipped)} unreadable file(s) (all listed in {listing}):", file=sys.stderr)
    for reason in skipped[:shown]:
        print(f"  {reason}", file=sys.stderr)
    if len(skipped) > shown:
        print(f"  … and {len(skipped) - shown} more", file=sys.stderr)


def _info(args) -> int:
    from index import describe, render_info

    info = describe(args.index)
    print(json.dumps(info, ensure_ascii=False) if args.json else render_info(info))
    return 0
