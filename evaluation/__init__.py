"""Evaluation beside the library: the benchmark and open-book harnesses, their scores, tables and charts."""
