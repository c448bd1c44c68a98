"""The console in a real headless browser (Debian's chromium through chromedriver, Selenium):
sign-in by form, each page loads with no console error and shows the numbers its API answers, a
screenshot of each (phone and desktop width) is written to .local/screenshots/ for review; and
the sign-in's rules over plain HTTP (werkzeug's test client)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client

from platform_events import server
from platform_events.config import Settings
from platform_events.db import Conn
from platform_events.pipeline import stream
from tests.builders import emit
from tests.integration.jobs_http import TOKEN
from tests.integration.test_models import marketplace, models, write

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".local" / "screenshots"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture
def console(settings: Settings, conn: Conn) -> Settings:
    """A pipeline with delivered events and syncs, and the models built over a known warehouse."""
    for n in range(5):
        emit(conn, "user.login", user_id=f"u{n}", session_id=f"s{n}", event_data={"method": "sso"})
    assert stream.run(stream.StreamRequest(), settings)["delivered"] == 5
    write(settings, marketplace())
    models(settings, "run")
    return settings


@pytest.fixture
def base_url(console: Settings) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, server.create_app(console, token=TOKEN), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def api(base_url: str, name: str) -> Any:
    url = f"{base_url}/api/console/{name}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback http
        return json.loads(answer.read())


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _text(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def _all(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, css))


def _shoot(driver: Any, page: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(int(height) + 140, 4000))
        path = SHOTS / f"console-{page}-{size}.png"
        driver.save_screenshot(str(path))
        assert path.stat().st_size > 10_000


def _sign_in(driver: Any, base_url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()


def test_console_pages_show_what_the_api_answers(browser: Any, base_url: str) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(base_url + "/")
    wait.until(ec.url_to_be(base_url + "/login"))
    _shoot(browser, "login")
    _sign_in(browser, base_url, "not-the-token")
    wait.until(ec.text_to_be_present_in_element(("css selector", ".error"), "not this server"))
    # the refused sign-in's 401 is the only thing the browser logged (reading the log drains it)
    assert [e for e in _errors(browser) if "401" not in e] == []
    _sign_in(browser, base_url, TOKEN)
    wait.until(ec.url_to_be(base_url + "/"))
    cookie = browser.get_cookie("pe_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"] and TOKEN not in browser.current_url

    health = api(base_url, "pipeline")
    wait.until(lambda d: _all(d, "#throughput-chart canvas"))  # uPlot drew the chart
    assert _text(browser, "#backlog") == str(health["backlog"])
    assert _text(browser, "#delivered") == str(health["delivered_last_hours"]) == "5"
    assert _text(browser, "#failed") == str(health["failed"])
    assert len(_all(browser, "#hourly tbody tr")) == len(health["hourly"]) >= 1
    assert len(_all(browser, "#syncs tbody tr")) == len(health["recent_syncs"]) >= 1
    assert _errors(browser) == []
    _shoot(browser, "pipeline")

    browser.get(base_url + "/analytics")
    facts = api(base_url, "analytics")
    wait.until(lambda d: _all(d, "#dau-chart canvas"))
    shown = {u.get_attribute("data-step"): int(u.text) for u in _all(browser, ".funnel .users")}
    assert shown == {s["step_name"]: s["users"] for s in facts["funnel"]}
    assert shown["search"] >= 3 and shown["review"] == 1  # the marketplace's numbers
    dau = [
        [c.text for c in row.find_elements("css selector", "td")][:2]
        for row in _all(browser, "#dau tbody tr")
    ]
    assert dau == [
        [d["activity_date"], str(d["active_users"])] for d in facts["daily_active_users"]
    ]
    cells = _all(browser, "#cohorts td[data-week]")
    assert len(cells) == sum(len(c["weeks"]) for c in facts["cohorts"]) >= 4
    assert _errors(browser) == []
    _shoot(browser, "analytics")

    browser.find_element("css selector", ".logout button").click()
    wait.until(ec.url_to_be(base_url + "/login"))
    browser.get(base_url + "/analytics")
    wait.until(ec.url_to_be(base_url + "/login"))


def _login_form(http: Client) -> str:
    page = http.get("/login")
    assert page.status_code == 200
    return page.get_data(as_text=True).split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_sign_in_needs_the_form_nonce_and_the_same_origin(settings: Settings) -> None:
    http = Client(server.create_app(settings, token=TOKEN))
    _login_form(http)
    assert http.post("/login", data={"csrf": "forged", "token": TOKEN}).status_code == 400
    nonce = _login_form(http)  # each form has its own nonce
    crossed = http.post(
        "/login", data={"csrf": nonce, "token": TOKEN}, headers={"Origin": "https://evil.test"}
    )
    assert crossed.status_code == 403
    ok = http.post("/login", data={"csrf": nonce, "token": TOKEN})
    assert ok.status_code == 303 and ok.headers["Location"] == "/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    # a session from another token (a rotated LOCAL_AUTH_TOKEN) lets nobody in
    other = Client(server.create_app(settings, token=TOKEN + "-rotated"))
    session = cookie.split(";", 1)[0].split("=", 1)[1]
    other.set_cookie("pe_console", session)
    assert other.get("/api/console/pipeline").status_code == 401
    assert other.get("/").headers["Location"] == "/login"


def test_scripts_use_the_bearer_token_and_pages_send_a_strict_csp(console: Settings) -> None:
    http = Client(server.create_app(console, token=TOKEN))
    assert http.get("/api/console/analytics").status_code == 401
    answer = http.get("/api/console/analytics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.get_json()["funnel"]
    page = http.get("/analytics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.get_data(as_text=True)  # no inline script runs
    assert http.get("/static/uplot.min.js").status_code == 200
    # the functions keep their own rule: bearer or 401
    assert http.post("/pipeline_status").status_code == 401


def test_dead_letters_show_by_reason_over_the_last_day(settings: Settings, conn: Conn) -> None:
    http = Client(server.create_app(settings, token=TOKEN))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert http.get("/api/console/pipeline", headers=bearer).get_json()["dead_letters"] == []
    # Rows as ingest keeps them (migrations/0041), one of them older than the console's window.
    conn.execute(
        "INSERT INTO platform_events_dead_letter (received_at, source, route, reason_code, "
        "reason, message, message_bytes) "
        "SELECT t, 'key-id', 'batch', code, 'refused', '{}', 2 FROM (VALUES "
        "('invalid_event', now()), ('invalid_event', now()), ('too_large', now()), "
        "('too_large', now() - interval '2 days')) AS v(code, t)"
    )
    answer = http.get("/api/console/pipeline", headers=bearer).get_json()
    assert [(d["reason"], d["messages"]) for d in answer["dead_letters"]] == [
        ("invalid_event", 2),
        ("too_large", 1),
    ]
    page = http.get("/", headers=bearer).get_data(as_text=True)
    assert "<td>2</td><td>invalid_event</td>" in page


def test_pages_before_the_models_are_built_say_what_to_run(settings: Settings) -> None:
    http = Client(server.create_app(settings, token=TOKEN))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    page = http.get("/analytics", headers=bearer)
    assert page.status_code == 503 and "platform-events models run" in page.get_data(as_text=True)
    answer = http.get("/api/console/analytics", headers=bearer)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    assert http.get("/", headers=bearer).status_code == 200  # the pipeline's side still answers
