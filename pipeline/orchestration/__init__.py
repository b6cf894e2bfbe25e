"""What the DAG files need from the library: assets, pools, the sentinel trigger, callbacks.

Kept free of heavy imports (no duckdb, pyarrow or GX at module level) so DAG files parse fast.
"""
