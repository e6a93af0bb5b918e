"""Build a library index in stages that can outlive a session: each stage links the next files into a
staging folder and runs `qa index update` (the first stage `qa index build`). `update` embeds only files
new to the index and commits atomically, so a stage killed halfway loses nothing; run it again to go on.

    python -m bench.build_in_stages ../shared/laws --also qa/data/corpus --out library/ --stage library-files/
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the library folder (its layout is kept in the staging folder)")
    parser.add_argument("--also", type=Path, nargs="*", default=[], help="further folders, indexed in the first stage")
    parser.add_argument("--out", type=Path, required=True, help="the index")
    parser.add_argument("--stage", type=Path, required=True, help="staging folder of links (the index's folder)")
    parser.add_argument("--batch", type=int, default=400, help="files added per stage")
    parser.add_argument("--sentence-vectors", default="pooled", choices=("own", "pooled"))
    args = parser.parse_args()
    folder = args.folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    qa = [sys.executable, "-m", "app.cli"]
    while True:
        todo = [p for p in files if not (args.stage / p.relative_to(folder)).is_symlink()]
        if not todo and (args.out / "manifest.json").exists():
            return 0
        for p in todo[: args.batch]:
            link = args.stage / p.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(p)
        t0 = time.perf_counter()
        if (args.out / "manifest.json").exists():
            command = [*qa, "index", "update", str(args.out), "--verbose"]
        else:
            folders = [str(args.stage), *map(str, args.also)]
            command = [*qa, "index", "build", *folders, "--out", str(args.out), "--verbose"]
            command += ["--sentence-vectors", args.sentence_vectors]
        if subprocess.call(command):
            return 1
        done = len(files) - len(todo) + min(args.batch, len(todo))
        print(f"stage: {done}/{len(files)} files in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
