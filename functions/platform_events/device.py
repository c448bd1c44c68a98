"""Device detection from a user agent: device type, browser and OS (ua-parser's regexes).

Shared by the client (at the call) and the pipeline's enrichment, so it imports neither.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Literal

import ua_parser

DeviceType = Literal["mobile", "tablet", "desktop", "bot", "unknown"]

_TABLET_FAMILIES = ("ipad", "kindle", "tablet", "galaxy tab", "nexus 7", "nexus 9", "nexus 10")
_MOBILE_OS = ("ios", "android", "windows phone", "blackberry os", "kaios")


@dataclass(frozen=True)
class DeviceInfo:
    device_type: DeviceType
    browser: str | None
    os: str | None

    def as_metadata(self) -> dict[str, str | None]:
        return asdict(self)


def _known(family: str | None) -> str | None:
    return None if family in (None, "", "Other") else family


@lru_cache(maxsize=4096)  # a service sees few distinct agents; parsing one costs ~60 us
def detect_device(user_agent: str | None) -> DeviceInfo:
    """Classify ``user_agent``; an empty or unknown agent gives ``unknown`` rather than a guess."""
    if not user_agent:
        return DeviceInfo("unknown", None, None)
    result = ua_parser.parse(user_agent[:1000])
    browser = _known(result.user_agent.family if result.user_agent else None)
    os_name = _known(result.os.family if result.os else None)
    device = (result.device.family if result.device else "") or ""
    lowered_device = device.lower()
    lowered_agent = user_agent.lower()
    device_type: DeviceType
    if lowered_device == "spider" or "bot" in lowered_agent or "crawler" in lowered_agent:
        device_type = "bot"
    elif any(name in lowered_device for name in _TABLET_FAMILIES) or (
        (os_name or "").lower() == "android" and "mobile" not in lowered_agent
    ):
        device_type = "tablet"
    elif (os_name or "").lower() in _MOBILE_OS or "mobile" in lowered_agent:
        device_type = "mobile"
    elif os_name is not None or browser is not None:
        device_type = "desktop"
    else:
        device_type = "unknown"
    return DeviceInfo(device_type, browser, os_name)
