"""Typed ``track_*`` helpers, one per catalogue event type: generated, see client/catalog_tracking.py.

The methods and their payload models are generated from the built-in catalogue
(``platform-events catalog generate``, platform_events/client_codegen.py); this module keeps the
name :class:`Analytics` and older imports use.
"""

from platform_events.client.catalog_tracking import TrackingMixin

__all__ = ["TrackingMixin"]
