"""Time zones named in a request: "3pm London time", "9am New York time", "5pm UTC".

A clock time followed by a zone is read in that zone and converted to the user's zone.
Names come from a small alias table (US zone words, common abbreviations) and from the
IANA database itself: the city part of every zone name ("tokyo", "new york", "los
angeles"). A word before "time" that is neither a zone nor an everyday word ("dinner
time") may be a zone we do not know ("3pm Narnia time"): it is reported as unresolved,
so the assistant asks instead of guessing.
"""

from __future__ import annotations

import functools
import re
from zoneinfo import ZoneInfo, available_timezones

ALIASES = {
    "utc": "UTC", "gmt": "UTC", "zulu": "UTC", "universal": "UTC",
    "eastern": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "central": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "mountain": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "pacific": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "central european": "Europe/Berlin",
    "bst": "Europe/London", "british": "Europe/London", "uk": "Europe/London", "england": "Europe/London",
    "ist": "Asia/Kolkata", "india": "Asia/Kolkata", "indian": "Asia/Kolkata", "delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata", "jst": "Asia/Tokyo", "japan": "Asia/Tokyo", "aest": "Australia/Sydney",
    "beijing": "Asia/Shanghai", "china": "Asia/Shanghai", "san francisco": "America/Los_Angeles",
    "washington": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
    "seattle": "America/Los_Angeles", "texas": "America/Chicago", "california": "America/Los_Angeles",
    "hawaii": "Pacific/Honolulu", "france": "Europe/Paris", "germany": "Europe/Berlin",
    "spain": "Europe/Madrid", "italy": "Europe/Rome", "ireland": "Europe/Dublin",
    "new zealand": "Pacific/Auckland", "eastern standard": "America/New_York",
    "pacific standard": "America/Los_Angeles",
}
# words that say "time" without naming a zone: "dinner time", "my time"
NOT_ZONES = {"dinner", "lunch", "tea", "bed", "play", "bath", "story", "nap", "snack", "screen", "quiet",
             "family", "game", "school", "work", "my", "the", "our", "their", "your", "home", "this",
             "that", "same", "usual", "normal", "local", "free", "break", "closing", "opening", "party",
             "me", "some", "spare", "on", "in", "of", "at", "a", "first", "last", "next", "every", "each",
             "what", "any", "good", "due", "start", "end", "which", "real", "breakfast", "supper",
             "movie", "film", "homework", "practice", "prayer", "feeding", "medicine", "pill", "meds",
             "reading", "sleep", "walk", "dog", "shower", "tidy", "cleanup", "tv", "music", "piano",
             "training", "gym", "swim", "meeting", "call", "zoom", "coffee", "pickup", "drop",
             "bedtime", "tummy", "feed", "study", "prep", "dinnertime", "lunchtime", "teatime", "pizza",
             "match", "kickoff", "show", "class", "lesson", "session", "quiz"}
# "<zone> time" after a clock, or a zone abbreviation right after a clock
ZONE_TIME = re.compile(r"(?<=[0-9mn]) (?:(?:am|pm|oclock) )?(?:in )?(?P<z>[a-z]+(?: [a-z]+){0,2}?) time\b")
ZONE_ABBR = re.compile(r"(?<=[0-9mn]) (?P<z>utc|gmt|cet|cest|bst|est|edt|cst|cdt|mst|mdt|pst|pdt|eastern|pacific"
                       r"|central|mountain|ist|jst|aest)\b(?! time)")


@functools.cache
def _cities() -> dict[str, str]:
    out = {}
    for name in available_timezones():
        if "/" in name and not name.startswith(("Etc/", "SystemV/")):
            out[name.rsplit("/", 1)[1].lower().replace("_", " ")] = name
    return out


def zone_named(words: str) -> ZoneInfo | None:
    """The zone for 'london', 'new york', 'eastern', 'utc'; None when it is not a zone word."""
    w = words.strip()
    name = ALIASES.get(w) or _cities().get(w)
    return ZoneInfo(name) if name else None


def find_zone(work: str) -> tuple[ZoneInfo | None, int, int] | None:
    """(zone, start, end) of a zone said right after a clock time; zone None = a name we
    do not know ("3pm Narnia time": reported as unresolved, so the user is asked)."""
    m = ZONE_ABBR.search(work)
    if m:
        z = zone_named(m["z"])
        assert z is not None
        return z, m.start("z"), m.end()
    m = ZONE_TIME.search(work)
    if not m:
        return None
    words = m["z"].split()
    for k in range(len(words)):  # the longest tail that names a zone: "new york", "york"
        z = zone_named(" ".join(words[k:]))
        if z is not None:
            return z, m.start("z"), m.end()
    if words[-1] in NOT_ZONES or words[0] in NOT_ZONES:
        return None
    return None, m.start("z"), m.end()
