"""platform-events: capture, validate, store and stream application events."""

__version__ = "0.1.0"
