"""Draw the laws benchmark's sample of the library: a folder of links to the files of the benchmark's titles
(every version of them) and `--others` more laws drawn with a fixed seed.

    python -m bench.laws_sample --out laws_sample/      # then: qa index build laws_sample --out laws_index
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from training.laws_questions import LAWS, benchmark_titles, title


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--laws", type=Path, default=LAWS)
    parser.add_argument("--others", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    titles = benchmark_titles()
    files = sorted(p.relative_to(args.laws).as_posix() for p in args.laws.rglob("*.md"))
    chosen = [f for f in files if title(f) in titles]
    others = [f for f in files if f not in chosen]
    random.Random(args.seed).shuffle(others)
    for source in chosen + others[: args.others]:
        link = args.out / source
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to((args.laws / source).resolve())
    print(f"{len(chosen)} files of the benchmark's titles and {args.others} others linked under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
