"""Baselines for the scoring benchmark: the same policy scored the way a user would without our engine.

Each module has ``score(folder, loaded_policy, as_of) -> pandas.DataFrame`` (one row per subject, columns
subject_id, kind, total, score, tier, rank, percentile and one boolean column per list of the policy; the
Polars baseline returns a ``polars.DataFrame`` with the same columns):

* ``pandas_baseline``  -- vectorised pandas, one boolean mask per rule;
* ``polars_baseline``  -- one lazy Polars query (scan_parquet ... collect), one group_by per record type;
* ``python_baseline``  -- a per-record loop evaluating each condition with ``socialcredit.policy.expr.evaluate``;
* ``zen_baseline``     -- the same loop with the conditions evaluated by the GoRules zen-engine.

``scan_bound.scan(folder)`` times a bare DuckDB read of the record columns: the floor no engine can beat.
"""
