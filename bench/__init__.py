"""Measurements only: each module is a script run from the repository root as `python -m bench.NAME`."""
