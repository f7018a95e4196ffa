"""Scoring: a run's inputs, score runs (full, incremental, rerun), holds, published policies, export to and
publish from other engines."""
