"""Cloud Functions (gen2) HTTP entry points, one per job of platform_events.registry.

Every function here is deployed by infra/functions (one per entry point, from infra/jobs.json) and
served locally by ``platform-events serve`` on the same routes. No logic lives in this file.

The entry points are generated: functions-framework loads this file and looks each target up with
``getattr(module, target)`` (it must be a plain function; ``functions_framework.http`` records it
by ``__name__``), so a module-level name per registry entry is all it needs, and adding a job to
the registry adds its function here without a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import functions_framework

from platform_events import logs, registry, web
from platform_events.config import get_settings

logs.configure(get_settings().log_level)


def _entry_point(job: registry.Job) -> Callable[[Any], Any]:
    if job.handler is not None:
        handler = job.flask_handler()

        def function(request: Any) -> Any:
            return handler(request)
    else:
        model, run = job.model(), job.runner()

        def function(request: Any) -> Any:
            return web.handle(request, model, run, job.entry_point)

    function.__name__ = function.__qualname__ = job.entry_point
    function.__doc__ = f"{job.help[0].upper()}{job.help[1:]}; the {job.name} job."
    return functions_framework.http(function)


for _job in registry.JOBS:
    globals()[_job.entry_point] = _entry_point(_job)
