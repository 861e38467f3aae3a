"""Benchmarks: `make bench` runs them; BENCHMARKS.md publishes the figures."""
