"""Cloud Functions (gen2) HTTP entry points: parse the request, call one job, answer JSON.

Every function here is deployed by infra/functions (one per entry point, see terraform.tf) and
served locally by ``platform-events serve`` on the same routes. No logic lives in this file.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from platform_events import logs, web
from platform_events.config import get_settings

logs.configure(get_settings().log_level)
