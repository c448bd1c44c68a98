"""`catalog apply` against the real store: a generated series of catalogue changes, each accepted
or refused as the rules say, events of every version validated by their own version, and nothing
stored before a change invalidated by it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from platform_events import catalog_apply, catalog_files, cli, migrate
from platform_events.catalog_files import JSON_SCHEMA_DIALECT
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.errors import CatalogRefused
from tests.builders import event
from tests.integration.test_ingest import track
from tests.integration.test_quarantine import ingest, send  # noqa: F401  (the ingest fixture)

TYPE = "invoice.sent"


def _doc(properties: dict[str, Any], required: list[str], **top: Any) -> dict[str, Any]:
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": TYPE,
        "description": "An invoice was sent to a client.",
        "x-category": "transaction",
        "x-retention": "7 years",
        "x-owner": "billing",
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
        **top,
    }


def _write(root: Path, version: int, doc: dict[str, Any]) -> None:
    path = root / TYPE / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def _apply(conn: Conn, root: Path) -> catalog_apply.Plan:
    return catalog_apply.apply(conn, catalog_files.load(root))


def _emit(conn: Conn, data: dict[str, Any]) -> dict[str, Any]:
    e = event(TYPE, event_data=data)
    row = conn.execute(
        "SELECT status, error_code, error_field, event_id FROM emit_platform_events(%s::jsonb)",
        (json.dumps([{**e, "event_id": None, "occurred_at": None}], default=str),),
    ).fetchone()
    assert row is not None
    stored = conn.execute(
        "SELECT schema_version FROM platform_events WHERE event_id = %s", (row["event_id"],)
    ).fetchone()
    return {**row, "schema_version": stored["schema_version"] if stored else None}


def _row(conn: Conn, version: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT revision, is_active, retention::text AS retention, json_schema FROM event_schemas "
        "WHERE event_type = %s AND version = %s",
        (TYPE, version),
    ).fetchone()
    assert row is not None
    return dict(row)


def _stored_all_valid(conn: Conn) -> None:
    """Every stored invoice.sent event is valid under the version it records, as it is now."""
    rows = conn.execute(
        "SELECT DISTINCT schema_version AS v FROM platform_events WHERE event_type = %s", (TYPE,)
    ).fetchall()
    for row in rows:
        assert catalog_apply.store.events_refused(conn, TYPE, int(row["v"])) == []


ID = {"invoice_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}


def test_a_series_of_changes_each_accepted_or_refused_as_the_rules_say(
    conn: Conn, tmp_path: Path
) -> None:
    # add type
    _write(tmp_path, 1, _doc(ID, ["invoice_id"]))
    plan = _apply(conn, tmp_path)
    assert [(c.kind, c.event_type) for c in plan.changes] == [("add_type", TYPE)]
    assert any(k.startswith("payment.completed v1: in the database, not in") for k in plan.kept)
    assert _apply(conn, tmp_path).empty  # idempotent
    v1_events = [_emit(conn, {"invoice_id": f"i{i}", "amount": i}) for i in range(3)]
    assert {(e["status"], e["schema_version"]) for e in v1_events} == {("accepted", 1)}

    # add optional field: a revision of version 1; what was stored stays valid
    with_due = {**ID, "due": {"type": "string", "maxLength": 10}}
    _write(tmp_path, 1, _doc(with_due, ["invoice_id"]))
    plan = _apply(conn, tmp_path)
    assert [c.kind for c in plan.changes] == ["edit"]
    assert _row(conn, 1)["revision"] == 1
    assert _emit(conn, {"invoice_id": "i9", "due": "2027-01-01"})["schema_version"] == 1
    assert _emit(conn, {"invoice_id": "i9", "due": "far too long a date"})["error_code"] == "PE005"
    _stored_all_valid(conn)

    # add required field as an edit of version 1: refused, nothing changed
    _write(tmp_path, 1, _doc(with_due, ["invoice_id", "due"]))
    with pytest.raises(CatalogRefused, match="make it version 2"):
        _apply(conn, tmp_path)
    assert _row(conn, 1)["revision"] == 1
    assert _row(conn, 1)["json_schema"]["required"] == ["invoice_id"]

    # ...as version 2 it is accepted; events of both versions are validated by their own
    _write(tmp_path, 1, _doc(with_due, ["invoice_id"]))
    _write(tmp_path, 2, _doc(with_due, ["invoice_id", "due"]))
    plan = _apply(conn, tmp_path)
    assert [(c.kind, c.version) for c in plan.changes] == [("add_version", 2)]
    assert _emit(conn, {"invoice_id": "a", "due": "2027-02-01"})["schema_version"] == 2
    assert _emit(conn, {"invoice_id": "b"})["schema_version"] == 1  # still valid under v1
    neither = _emit(conn, {"due": "2027"})
    assert (neither["status"], neither["error_code"], neither["error_field"]) == (
        "rejected",
        "PE003",
        "event_data.invoice_id",
    )

    # remove field from version 2: refused
    _write(tmp_path, 2, _doc({"invoice_id": ID["invoice_id"]}, ["invoice_id"]))
    with pytest.raises(CatalogRefused, match="removes field 'amount'"):
        _apply(conn, tmp_path)
    _write(tmp_path, 2, _doc(with_due, ["invoice_id", "due"]))

    # change retention: every version, previewed by the retention job's dry run
    for version, required in ((1, ["invoice_id"]), (2, ["invoice_id", "due"])):
        _write(tmp_path, version, _doc(with_due, required, **{"x-retention": "10 years"}))
    plan = _apply(conn, tmp_path)
    assert [c.kind for c in plan.changes] == ["retention"]
    assert {_row(conn, v)["retention"] for v in (1, 2)} == {"10 years"}
    preview = conn.execute(
        "SELECT retention::text AS retention FROM platform_events_retention_preview() "
        "WHERE event_type = %s",
        (TYPE,),
    ).fetchall()
    assert [r["retention"] for r in preview] == ["10 years"]

    # deactivate version 2: new events fall back to version 1
    _write(
        tmp_path,
        2,
        _doc(with_due, ["invoice_id", "due"], **{"x-retention": "10 years", "x-active": False}),
    )
    assert [c.kind for c in _apply(conn, tmp_path).changes] == ["deactivate"]
    assert _emit(conn, {"invoice_id": "c", "due": "2027"})["schema_version"] == 1
    _stored_all_valid(conn)
    stored = conn.execute(
        "SELECT schema_version, count(*) AS n FROM platform_events WHERE event_type = %s "
        "GROUP BY 1 ORDER BY 1",
        (TYPE,),
    ).fetchall()
    assert [(r["schema_version"], r["n"]) for r in stored] == [(1, 6), (2, 1)]


def test_an_added_field_that_stored_events_carry_in_another_shape_is_refused(
    conn: Conn, tmp_path: Path
) -> None:
    _write(tmp_path, 1, _doc(ID, ["invoice_id"]))
    _apply(conn, tmp_path)
    _emit(conn, {"invoice_id": "i", "note": 5})  # an undeclared key, stored as sent
    _write(tmp_path, 1, _doc({**ID, "note": {"type": "string"}}, ["invoice_id"]))
    with pytest.raises(CatalogRefused, match=r"\(note: type\); make the change version 2"):
        _apply(conn, tmp_path)
    assert (
        _row(conn, 1)["revision"] == 0 and "note" not in _row(conn, 1)["json_schema"]["properties"]
    )


def test_a_deactivated_type_is_quarantined_and_its_events_kept(
    ingest: str,  # noqa: F811  (the fixture imported above)
    conn: Conn,
    tmp_path: Path,
) -> None:
    _write(tmp_path, 1, _doc(ID, ["invoice_id"]))
    _apply(conn, tmp_path)
    assert send(ingest, track("Invoice Sent", {"invoice_id": "a"}))[0]["status"] == "accepted"
    _write(tmp_path, 1, _doc(ID, ["invoice_id"], **{"x-active": False}))
    _apply(conn, tmp_path)
    held = send(ingest, track("Invoice Sent", {"invoice_id": "b"}))[0]
    assert held["status"] == "quarantined"
    reason = conn.execute(
        "SELECT reason FROM platform_events_quarantine WHERE event_type = %s", (TYPE,)
    ).fetchone()
    assert reason is not None and "is no longer active" in reason["reason"]
    count = conn.execute(
        "SELECT (SELECT count(*) FROM platform_events WHERE event_type = %(t)s) AS stored, "
        "(SELECT count(*) FROM platform_events_quarantine WHERE event_type = %(t)s) AS held",
        {"t": TYPE},
    ).fetchone()
    assert count is not None and (count["stored"], count["held"]) == (1, 1)


def test_the_migration_step_applies_a_changed_catalogue_under_its_lock(
    conn: Conn, tmp_path: Path
) -> None:
    builtin = catalog_files.builtin_dir()
    for source in builtin.iterdir():
        (tmp_path / source.name).mkdir()
        for f in source.iterdir():
            (tmp_path / source.name / f.name).write_text(f.read_text())
    _write(tmp_path, 1, _doc(ID, ["invoice_id"]))
    conn.autocommit = True
    applied, plan = migrate.deploy(conn, catalog=tmp_path)
    assert applied == [] and plan is not None
    assert [(c.kind, c.event_type) for c in plan.changes] == [("add_type", TYPE)]
    assert plan.kept == ()
    again = migrate.deploy(conn, catalog=tmp_path)[1]
    assert again is not None and again.empty
    # a file the rules refuse stops the step with the reason, the catalogue left as it was
    rng = random.Random(19)
    field = rng.choice(["invoice_id", "amount"])
    _write(tmp_path, 1, _doc({k: v for k, v in ID.items() if k != field}, []))
    with pytest.raises(CatalogRefused, match=f"removes field '{field}'"):
        migrate.deploy(conn, catalog=tmp_path)
    assert set(_row(conn, 1)["json_schema"]["properties"]) == set(ID)


def test_the_catalog_commands_validate_diff_and_apply(
    settings: Settings,
    conn: Conn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.platform_events_home))
    _write(tmp_path, 1, _doc(ID, ["invoice_id"]))
    assert cli.main(["catalog", "validate", "--dir", str(tmp_path)]) == 0
    assert "1 event types, 1 versions: valid" in capsys.readouterr().out
    assert cli.main(["catalog", "diff", "--dir", str(tmp_path), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert [(c["kind"], c["event_type"]) for c in diff["changes"]] == [("add_type", TYPE)]
    assert _row_count(conn) == 0  # diff changes nothing
    assert cli.main(["catalog", "apply", "--dir", str(tmp_path)]) == 0
    assert "invoice.sent v1: add_type" in capsys.readouterr().out
    assert _row_count(conn) == 1
    _write(tmp_path, 1, _doc({"invoice_id": ID["invoice_id"]}, ["invoice_id"]))
    assert cli.main(["catalog", "diff", "--dir", str(tmp_path)]) == 1
    assert "refused: invoice.sent/1.json: removes field 'amount'" in capsys.readouterr().out
    assert cli.main(["catalog", "apply", "--dir", str(tmp_path)]) == 1
    assert "the catalogue change is refused" in capsys.readouterr().out
    _write(tmp_path, 1, _doc(ID, ["invoice_id"], **{"x-category": "sales"}))
    assert cli.main(["catalog", "validate", "--dir", str(tmp_path)]) == 1
    assert "invoice.sent/1.json: x-category: one of" in capsys.readouterr().out


def _row_count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM event_schemas WHERE event_type = %s", (TYPE,))
    found = row.fetchone()
    assert found is not None
    return int(found["n"])
