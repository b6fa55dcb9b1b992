"""Offline voice-and-text personal assistant daemon."""

__version__ = "0.1.0"
