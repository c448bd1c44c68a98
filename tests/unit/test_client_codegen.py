"""client_codegen: the client's typed track_* methods and models, generated from a catalogue."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from platform_events import catalog, catalog_files, client_codegen
from platform_events.catalog import Catalog, EventType
from platform_events.client import catalog_tracking
from platform_events.errors import InvalidEvent
from tests.builders import VALID_DATA

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = REPO / "functions"
PYPROJECT = REPO / "pyproject.toml"

LONG_CHANNELS = ["email_digest_weekly", "push_notification_mobile", "sms_text_message", "in_app"]


def _schema(event_type: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": catalog_files.JSON_SCHEMA_DIALECT,
        "title": event_type,
        "description": f"The {event_type} test event.",
        "x-category": "transaction",
        "x-retention": "1 year",
        "x-owner": "billing",
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


TEST_FILES: dict[str, dict[str, Any]] = {
    "invoice.sent/1.json": _schema(
        "invoice.sent",
        ["invoice_id", "amount"],
        {
            "invoice_id": {"type": "string"},
            "amount": {"type": "number", "minimum": 0},
            "status": {"type": "string", "enum": ["draft", "sent"]},
        },
    ),
    "invoice.sent/2.json": _schema(
        "invoice.sent",
        ["invoice_id", "amount"],
        {
            "invoice_id": {"type": "string", "description": "Invoice id", "maxLength": 20},
            "amount": {"type": "number", "minimum": 0, "maximum": 1_000_000},
            "status": {"type": "string", "enum": ["draft", "sent", "paid", "void"]},
            "lines": {"type": "integer", "minimum": 1, "maximum": 500},
            "urgent": {"type": "boolean", "description": "Sent with priority"},
            "tags": {"type": "array"},
            "context": {"type": "object", "description": "Free-form context"},
            "from": {"type": "string", "description": 'The sender, "as shown"', "maxLength": 200},
        },
    ),
    "reminder.scheduled/1.json": _schema(
        "reminder.scheduled",
        ["reminder_id", "channel"],
        {
            "reminder_id": {"type": "string"},
            "channel": {"type": "string", "enum": LONG_CHANNELS, "description": "Where it goes"},
            "fallback_channel": {
                "type": "string",
                "enum": LONG_CHANNELS,
                "description": "Where it goes when the first channel fails",
            },
            "delay_hours": {
                "type": "integer",
                "minimum": 0,
                "maximum": 720,
                "description": "Hours between the invoice and the reminder",
            },
            "note": {
                "type": "string",
                "maxLength": 280,
                "description": "A note shown to the customer with the reminder, if any at all",
            },
        },
    ),
}

# Calls mypy --strict must accept (and that run as written: test_generated_methods_emit...).
USAGE_OK = """\
import uuid
from typing import Any

from team_events import InvoiceSentData, ReminderScheduledData, TrackingMixin


class App(TrackingMixin):
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def _track(self, event_type: str, event_data: dict[str, Any]) -> uuid.UUID:
        self.sent.append((event_type, event_data))
        return uuid.uuid4()


def run(app: App) -> list[uuid.UUID]:
    return [
        app.track_invoice_sent("inv1", 10.5),
        app.track_invoice_sent(
            invoice_id="inv2",
            amount=3,
            status="paid",
            lines=2,
            urgent=True,
            tags=("a", "b"),
            context={"k": 1},
            from_="Acme",
            po_number="PO-7",
        ),
        app.track_reminder_scheduled("rem1", "sms_text_message", delay_hours=24),
    ]


model = InvoiceSentData.model_validate({"invoice_id": "inv1", "amount": 1})
amount: float = model.amount
reminder = ReminderScheduledData(reminder_id="r", channel="in_app")
"""

# Each line marked ``# error`` must be reported by mypy, and nothing else.
USAGE_BAD = """\
from usage_ok import App

app = App()
app.track_invoice_sent(amount=10.5)  # error: missing invoice_id
app.track_invoice_sent("inv1", "ten")  # error: amount is a number
app.track_invoice_sent("inv1", 1, status="lost")  # error: not in the enum
app.track_invoice_sent("inv1", 1, None)  # error: optional fields are keyword-only
app.track_reminder_scheduled("rem1", "carrier_pigeon")  # error: not in the enum
app.track_reminder_scheduled("rem1", "in_app", delay_hours="soon")  # error: an integer
eid: str = app.track_reminder_scheduled("rem1", "in_app")  # error: returns a UUID
"""


@pytest.fixture(scope="module")
def team_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("team") / "tracking-plan"
    for name, doc in TEST_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def team_catalog(team_dir: Path) -> Catalog:
    return Catalog.from_files(catalog_files.load(team_dir))


@pytest.fixture(scope="module")
def team_module(team_dir: Path, team_catalog: Catalog) -> Path:
    out = team_dir.parent / "src" / "team_events.py"
    assert client_codegen.generate(team_dir, out)
    assert out.read_text(encoding="utf-8") == client_codegen.render(
        team_catalog, source="tracking-plan"
    )
    (out.parent / "usage_ok.py").write_text(USAGE_OK, encoding="utf-8")
    (out.parent / "usage_bad.py").write_text(USAGE_BAD, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def team_events(team_module: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("team_events", team_module)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["team_events"] = module  # pydantic resolves the annotations in it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["team_events"]
    return module


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--config", str(PYPROJECT)],
        capture_output=True,
        text=True,
        check=False,
    )


# -- the committed module ----------------------------------------------------------------------


def test_the_committed_module_is_the_built_in_catalogue_rendered() -> None:
    committed = Path(catalog_tracking.__file__).read_text(encoding="utf-8")
    assert committed == client_codegen.render(catalog.builtin()), (
        "client/catalog_tracking.py is stale: run `platform-events catalog generate`"
    )
    assert Path(catalog_tracking.__file__).resolve() == client_codegen.BUILTIN_OUTPUT
    assert committed.startswith(
        "# Generated by `platform-events catalog generate` from platform_events/event_types: "
        "do not edit; regenerate after changing the catalogue.\n"
    )


def test_the_committed_module_is_ruff_clean() -> None:
    path = str(client_codegen.BUILTIN_OUTPUT)
    formatted = _ruff("format", "--check", path)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = _ruff("check", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_current_type_has_a_model_and_a_method() -> None:
    for name, entry in catalog.builtin().current.items():
        model = getattr(catalog_tracking, entry.class_name + "Data")
        assert issubclass(model, BaseModel)
        assert model.model_config["extra"] == "allow" and model.model_config["frozen"]
        assert hasattr(catalog_tracking.TrackingMixin, "track_" + name.replace(".", "_"))


class _Recorder(catalog_tracking.TrackingMixin):
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def _track(self, event_type: str, event_data: dict[str, Any]) -> uuid.UUID:
        self.sent.append((event_type, event_data))
        return uuid.uuid4()


def test_the_seed_methods_keep_their_call_forms_and_defaults() -> None:
    app = _Recorder()
    app.track_project_created("p1", "Landing page", 1200)
    app.track_payment_completed("pay1", 99.5, project_id="p1")
    app.track_profile_viewed("user_1", "search")
    app.track_search_performed("python", 1, filters={"budget": "<500"})
    app.track_user_login("password")
    app.track_user_logout()
    app.track_password_changed()
    app.track_profile_updated(("bio", "title"))
    app.track_session_started(referrer=None, landing_page="/", utm_source="ad")
    assert app.sent == [
        (
            "project.created",
            {"project_id": "p1", "title": "Landing page", "budget": 1200, "currency": "USD"},
        ),
        (
            "payment.completed",
            {"payment_id": "pay1", "amount": 99.5, "currency": "USD", "project_id": "p1"},
        ),
        ("profile.viewed", {"profile_id": "user_1", "source": "search"}),
        (
            "search.performed",
            {"query": "python", "results_count": 1, "filters": {"budget": "<500"}},
        ),
        ("user.login", {"method": "password", "success": True}),
        ("user.logout", {"reason": "user"}),
        ("password.changed", {"method": "settings"}),
        ("profile.updated", {"fields_changed": ["bio", "title"]}),
        ("session.started", {"landing_page": "/", "utm_source": "ad"}),
    ]


def test_a_bad_call_raises_the_catalogues_invalid_event_before_tracking() -> None:
    app = _Recorder()
    with pytest.raises(InvalidEvent) as caught:
        app.track_review_posted("r1", "p1", rating=9)
    with pytest.raises(InvalidEvent) as expected:
        catalog.builtin().validate(
            "review.posted", {"review_id": "r1", "project_id": "p1", "rating": 9}
        )
    assert (caught.value.field, caught.value.code, str(caught.value)) == (
        expected.value.field,
        expected.value.code,
        str(expected.value),
    )
    assert caught.value.field == "event_data.rating"
    assert app.sent == []


# -- models validate as the catalogue does -----------------------------------------------------

BREAKERS: list[object] = [None, "x" * 6000, "", -1, 0, 2.5, 10**7, True, [], {}, "sent", "in_app"]


def _payloads(entry: EventType, base: dict[str, Any]) -> list[dict[str, Any]]:
    """``base``, and for each field every breaker in its place and the field left out."""
    out = [base, {**base, "undeclared": object()}]
    for spec in entry.fields:
        out.extend({**base, spec.name: value} for value in BREAKERS)
        out.append({k: v for k, v in base.items() if k != spec.name})
    return out


def _agree(model: type[BaseModel], entry: EventType, payload: dict[str, Any]) -> None:
    try:
        model.model_validate(payload)
        generated = True
    except ValidationError:
        generated = False
    try:
        entry.validate(payload)
        runtime = True
    except InvalidEvent:
        runtime = False
    assert generated == runtime, (entry.name, payload)


def test_the_built_in_models_accept_and_refuse_as_the_catalogue_does() -> None:
    for name, entry in catalog.builtin().current.items():
        model = getattr(catalog_tracking, entry.class_name + "Data")
        for payload in _payloads(entry, dict(VALID_DATA.get(name, {}))):
            _agree(model, entry, payload)


def test_the_team_models_accept_and_refuse_as_the_catalogue_does(
    team_catalog: Catalog, team_events: ModuleType
) -> None:
    bases = {
        "invoice.sent": {"invoice_id": "inv1", "amount": 10, "from": "Acme", "tags": ["x"]},
        "reminder.scheduled": {"reminder_id": "r1", "channel": "in_app", "delay_hours": 720},
    }
    assert set(team_catalog.current) == set(bases)
    for name, entry in team_catalog.current.items():
        model = getattr(team_events, entry.class_name + "Data")
        for payload in _payloads(entry, bases[name]):
            _agree(model, entry, payload)


# -- a team's catalogue: the module type-checks, formats and runs ------------------------------


def test_the_team_module_uses_the_current_version_and_names_its_catalogue(
    team_module: Path,
) -> None:
    text = team_module.read_text(encoding="utf-8")
    assert text.startswith("# Generated by `platform-events catalog generate` from tracking-plan:")
    assert '"""invoice.sent version 2: The invoice.sent test event."""' in text
    assert 'Literal["draft", "sent", "paid", "void"]' in text
    assert "from_: " in text and 'alias="from"' in text


def test_generate_writes_only_when_the_module_changes(team_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg" / "events.py"
    assert client_codegen.generate(team_dir, out, check=True) and not out.exists()
    assert client_codegen.generate(team_dir, out)
    assert not client_codegen.generate(team_dir, out)
    assert not client_codegen.generate(team_dir, out, check=True)
    out.write_text("# edited by hand\n", encoding="utf-8")
    assert client_codegen.generate(team_dir, out)
    assert out.read_text(encoding="utf-8").startswith("# Generated by")


def test_the_team_module_is_ruff_clean(team_module: Path) -> None:
    formatted = _ruff("format", "--diff", str(team_module))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = _ruff("check", str(team_module))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_mypy_strict_accepts_good_calls_and_names_each_bad_one(
    team_module: Path, tmp_path: Path
) -> None:
    src = team_module.parent
    env_path = f"{src}:{FUNCTIONS}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "team_events.py",
            "usage_ok.py",
            "usage_bad.py",
        ],
        cwd=src,
        env={"MYPYPATH": env_path, "PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    where = {
        (m.group(1), int(m.group(2))) for m in (re.match(r"(\S+?):(\d+):", e) for e in errors) if m
    }
    expected = {
        ("usage_bad.py", n)
        for n, line in enumerate(USAGE_BAD.splitlines(), start=1)
        if "# error" in line
    }
    assert where == expected, textwrap.indent(result.stdout, "  ")


def test_generated_methods_emit_the_payload_and_refuse_like_the_catalogue(
    team_catalog: Catalog, team_events: ModuleType, team_module: Path
) -> None:
    namespace: dict[str, Any] = {}
    sys.modules["team_events"] = team_events
    try:
        exec(compile(USAGE_OK, "usage_ok.py", "exec"), namespace)  # noqa: S102
    finally:
        del sys.modules["team_events"]
    app = namespace["App"]()
    ids = namespace["run"](app)
    assert all(isinstance(i, uuid.UUID) for i in ids)
    assert app.sent == [
        ("invoice.sent", {"invoice_id": "inv1", "amount": 10.5}),
        (
            "invoice.sent",
            {
                "invoice_id": "inv2",
                "amount": 3,
                "status": "paid",
                "lines": 2,
                "urgent": True,
                "tags": ["a", "b"],
                "context": {"k": 1},
                "from": "Acme",
                "po_number": "PO-7",
            },
        ),
        (
            "reminder.scheduled",
            {"reminder_id": "rem1", "channel": "sms_text_message", "delay_hours": 24},
        ),
    ]
    for event_type, data in app.sent:
        team_catalog.validate(event_type, data)
    bad: list[dict[str, Any]] = [
        {"lines": 0},
        {"lines": 501},
        {"invoice_id": "x" * 21},
        {"status": "lost"},
        {"urgent": 1},
        {"from_": 7},
    ]
    for change in bad:
        kwargs: dict[str, Any] = {"invoice_id": "inv1", "amount": 1, **change}
        payload = {("from" if k == "from_" else k): v for k, v in kwargs.items()}
        with pytest.raises(InvalidEvent) as caught:
            app.track_invoice_sent(**kwargs)
        with pytest.raises(InvalidEvent) as expected:  # the current version's rules, not v1's
            team_catalog.get("invoice.sent").validate(payload)
        assert (caught.value.field, caught.value.code, str(caught.value)) == (
            expected.value.field,
            expected.value.code,
            str(expected.value),
        ), change


def test_names_python_cannot_hold_apart_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "plan"
    (root / "order.placed").mkdir(parents=True)
    doc = _schema(
        "order.placed", [], {"po-number": {"type": "string"}, "po_number": {"type": "string"}}
    )
    (root / "order.placed" / "1.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="po_number"):
        client_codegen.render(Catalog.from_files(catalog_files.load(root)))


def test_catalog_generate_writes_a_teams_module_and_check_finds_it_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from platform_events import cli

    assert cli.main(["catalog", "generate", "--check"]) == 0  # the committed module is current
    team = tmp_path / "catalogue"
    out = tmp_path / "team_tracking.py"
    shutil.copytree(catalog_files.builtin_dir(), team)
    shutil.copytree(catalog_files.builtin_dir().parent / "demo_catalogue", team, dirs_exist_ok=True)
    assert cli.main(["catalog", "generate", "--dir", str(team)]) == 2  # no --output: refused
    assert cli.main(["catalog", "generate", "--dir", str(team), "--output", str(out)]) == 0
    assert "def track_invoice_sent(" in out.read_text()
    assert (
        cli.main(["catalog", "generate", "--dir", str(team), "--output", str(out), "--check"]) == 0
    )
    out.write_text(out.read_text().replace("def track_invoice_sent(", "def track_old("))
    assert (
        cli.main(["catalog", "generate", "--dir", str(team), "--output", str(out), "--check"]) == 1
    )
    assert "stale" in capsys.readouterr().out
