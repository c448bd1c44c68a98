"""Streaming: claim pending events, enrich them, write them to the warehouse, acknowledge.

Modules: ``store`` (every Postgres call), ``enrich`` (pure enrichment), ``batch`` (rows to Arrow,
metrics), ``retry`` (retry and split-and-isolate policy), ``stream`` (the job), ``cli_commands``.
"""
