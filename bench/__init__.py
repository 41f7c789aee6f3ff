"""Benchmarks for signoff: ``python -m bench.run`` (see bench/README.md)."""
