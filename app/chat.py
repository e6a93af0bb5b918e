"""The Gradio chat (placeholder until built): `qa serve`."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)


def run(args: argparse.Namespace) -> int:
    raise RuntimeError("the chat is not built yet")
