"""The base of every explained failure, so callers catch one class, not names.

An `AssistantError` carries a message for the person running the assistant: what was
wrong and what to do. The CLI prints it and exits non-zero; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """A failure the user can fix; `str(exc)` says what was wrong and what to do."""


__all__ = ["AssistantError"]
