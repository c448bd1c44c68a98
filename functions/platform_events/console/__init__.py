"""The console: pipeline health and the analyst's views, server-rendered, at ``serve``'s ``/``.

Mounted by ``server.create_app`` in front of the JSON functions (``handles(path)`` says which
requests are the console's). Left local rather than deployed as one more function: deployed, the
functions sit behind IAM with no browser sign-in, and each page view would be BigQuery query jobs;
operators run ``platform-events serve`` with the deployed DATABASE_URL and WAREHOUSE=bigquery (or
open the models dataset in their BI tool).

Charts use uPlot 1.6.32 (MIT, static/uplot/LICENSE), vendored from its npm package's dist/
(uPlot.iife.min.js sha256 19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f):
about 50 KB, no dependencies, and nothing is fetched from a CDN at run time.
"""

from platform_events.console.app import handles, wsgi_app

__all__ = ["handles", "wsgi_app"]
