"""DuckDB sink: erasure, retention, deletes, and handing the file over between processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from platform_events.sinks import get_sink
from platform_events.sinks.duckdb import DuckDBSink
from tests.builders import emit
from tests.integration.streaming import emit_bulk, warehouse


def test_erase_user_clears_identity_personal_fields_and_mentions(
    settings: Settings, conn: Conn
) -> None:
    emit(conn, "review.posted", user_id="alice")
    emit(
        conn,
        "message.sent",
        user_id="bob",
        event_data={"message_id": "m1", "conversation_id": "c1", "recipient_id": "alice"},
    )
    emit(conn, "user.login", user_id="carol", event_data={"method": "password"})
    stream.run(stream.StreamRequest(), settings)
    with get_sink(settings) as sink:
        assert sink.erase_user("alice") == 2
        assert sink.erase_user("alice") == 0  # idempotent: nothing of alice is left
    rows = warehouse(
        settings,
        "SELECT event_type, user_id, session_id, CAST(event_data AS VARCHAR) AS data, "
        "CAST(metadata AS VARCHAR) AS meta FROM events ORDER BY event_type",
    )
    by_type = {r["event_type"]: r for r in rows}
    review = by_type["review.posted"]
    assert review["user_id"] is None and review["session_id"] is None
    assert "comment" not in review["data"] and review["meta"] == '{"anonymized": true}'
    assert by_type["message.sent"]["user_id"] == "bob"
    assert '"recipient_id":null' in by_type["message.sent"]["data"].replace(" ", "")
    assert by_type["user.login"]["user_id"] == "carol"


def test_retention_deletes_only_expired_types_and_delete_events_by_id(
    settings: Settings, conn: Conn
) -> None:
    ids = emit_bulk(conn, 20)
    emit(conn, "payment.completed")
    stream.run(stream.StreamRequest(), settings)
    with DuckDBSink.from_settings(settings) as sink:
        assert sink.delete_expired({"user.login": timedelta(days=30)}) == 0
        assert sink.delete_expired({"user.login": timedelta(seconds=-60)}) == 20
        assert sink.delete_events([str(e) for e in ids]) == 0
    assert warehouse(settings, "SELECT event_type FROM events") == [
        {"event_type": "payment.completed"}
    ]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from platform_events.sinks.duckdb import DuckDBSink
    sink = DuckDBSink(Path(sys.argv[1]), lock_timeout_s=30)
    sink.ensure_table()          # opens the file and keeps it
    print("holding", flush=True)
    deadline = time.monotonic() + 60
    while sink._conn is not None and time.monotonic() < deadline:
        with sink.connection():  # a writer between batches: hands over when someone waits
            pass
        time.sleep(0.01)
    print("handed over" if sink._conn is None else "kept", flush=True)
    """
)


def test_a_process_holding_the_warehouse_hands_it_over_to_a_waiting_one(
    settings: Settings,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(settings.duckdb_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    rows = warehouse(settings, "SELECT count(*) AS n FROM events")  # waits, then reads
    assert rows == [{"n": 0}]
    out, _ = holder.communicate(timeout=60)
    assert out.strip() == "handed over"
