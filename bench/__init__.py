"""Benchmarks of predmaint's serving paths against their peers (results: docs/benchmarks.md)."""
