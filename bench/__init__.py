"""Benchmarks of OpenDeep (`python -m bench.<name>`; see bench/README.md)."""
