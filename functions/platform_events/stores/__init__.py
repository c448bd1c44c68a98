"""Each domain's SQL behind one store: named, typed functions over a connection.

The statements live in ``platform_events/sql/*.sql`` (read by name with ``queries.sql``); a store
module is the only code that runs them, so a reader finds every statement of a domain, and what
it answers, in one module. Jobs, ingest, the console and the SDK's reads call these functions
and keep their own logic (loops, transactions, what a count means); the import-linter contract
``sql-behind-stores`` of pyproject.toml keeps ``queries`` out of every other module. Streaming's
store is ``pipeline/store.py`` (it speaks the pipeline's own types), and ``emit.py`` is the store
of the batch write path.
"""

from __future__ import annotations

# One row of a dict-row connection (``db.Conn``), as psycopg types it.
Row = dict[str, object]
