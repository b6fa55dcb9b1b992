"""Wall-clock time -> an aware instant, with one rule for DST gaps and overlaps.

Rule (copied into resolver.py's docstring):
- A wall time that does not exist (spring forward, e.g. 02:30 in Berlin on the last
  Sunday of March) moves forward by the length of the gap: 02:30 -> 03:30.
- A wall time that exists twice (fall back, e.g. 02:30 on the last Sunday of October)
  means the first of the two, the one still on summer time (fold=0).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Attach `zone` to a naive local wall time following the module's DST rule."""
    aware = naive.replace(tzinfo=zone, fold=0)
    # A round trip through UTC normalizes a nonexistent time (it keeps the pre-gap offset,
    # so 02:30+01:00 becomes 03:30+02:00) and leaves every other time unchanged.
    return aware.astimezone(UTC).astimezone(zone)


def iso(dt: datetime) -> str:
    """ISO 8601 with the UTC offset, seconds precision: the parse contract's format."""
    return dt.replace(microsecond=0).isoformat(timespec="seconds")


def utc(dt: datetime) -> datetime:
    """The same instant in UTC. Aware datetimes sharing one tzinfo compare and subtract by
    wall time in Python, which is wrong around a fall-back hour; compare instants instead."""
    return dt.astimezone(UTC)
