"""Query engines: DuckDB over a local lake, and a deployed stack's Athena."""
