"""Benchmarks of reseau (run ``python -m bench --help``)."""
