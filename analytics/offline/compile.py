"""``dbt compile`` for BigQuery or Redshift with no warehouse: the models' SQL for a target, offline.

Run by the dbt virtualenv's Python: ``compile.py TARGET full|incremental [dbt args...]``. dbt asks
the warehouse one thing while it compiles these models: whether ``{{ this }}`` exists
(``is_incremental()``). This thin offline wrapper answers that from the argument instead
(``full``: no table yet, the first run's SQL; ``incremental``: the table exists), so both branches
render; nothing else of the adapter is replaced, and nothing connects.
"""

from __future__ import annotations

import sys
from typing import Any

from dbt.adapters.base.impl import BaseAdapter
from dbt.cli.main import dbtRunner


def main(argv: list[str]) -> int:
    target, mode, *extra = argv
    if mode not in ("full", "incremental"):
        raise SystemExit("usage: compile.py TARGET full|incremental [dbt args...]")

    def get_relation(self: BaseAdapter, database: str, schema: str, identifier: str) -> Any:
        if mode == "full":
            return None
        return self.Relation.create(
            database=database, schema=schema, identifier=identifier, type="table"
        )

    BaseAdapter.get_relation = get_relation  # type: ignore[method-assign]
    if target == "bigquery":  # the BigQuery adapter has its own (an API call)
        from dbt.adapters.bigquery.impl import BigQueryAdapter

        BigQueryAdapter.get_relation = get_relation  # type: ignore[method-assign]
    result = dbtRunner().invoke(["compile", "--no-populate-cache", "--target", target, *extra])
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
