"""`qa eval` (placeholder until built)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", nargs="?")


def run(args: argparse.Namespace) -> int:
    raise RuntimeError("evaluation is not built yet")
