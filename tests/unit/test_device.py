"""device.py: device type, browser and OS from the user agent."""

from __future__ import annotations

import pytest

from platform_events.device import detect_device


@pytest.mark.parametrize(
    ("agent", "device_type", "browser", "os"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "mobile",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "tablet",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "tablet",
            "Chrome",
            "Android",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "desktop",
            "Chrome",
            "Windows",
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "bot",
            "Googlebot",
            None,
        ),
        ("", "unknown", None, None),
    ],
)
def test_devices_are_detected_from_the_user_agent(
    agent: str, device_type: str, browser: str | None, os: str | None
) -> None:
    info = detect_device(agent)
    assert (info.device_type, info.browser, info.os) == (device_type, browser, os)
