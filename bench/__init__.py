"""Benchmarks, run by `make bench`. Results go to bench/results/ as JSON and Markdown."""
