"""Split an edit request into the item it points at and the change asked for.

"push the dentist appointment back an hour" -> target "the dentist appointment", a shift of
+1 hour; "change my 7am alarm to 7:30" -> target "my 7am alarm", a new time "7:30";
"rename the milk reminder to buy oat milk" -> target "the milk reminder", a new name.
The target words are read like a cancel's (which item), the change like a create's (a new
moment) or as a length: `slots.py` does both with the intent's own SlotSpec. This module
knows no skill or intent names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERB = (r"(?:please\s+)?(?:can you\s+|could you\s+)?(?:move|push|put|shift|change|reschedule|"
         r"set|make|bring|delay|postpone|switch|update|adjust|reset|pull)")
# "push X back (by) an hour", "bring X forward 30 minutes", "move X up 10 minutes"
_SHIFT_AFTER = re.compile(
    rf"^{_VERB}\s+(?P<target>.+?)\s+(?P<dir>back|forward|forwards|ahead|up|on)\s+(?:by\s+)?"
    r"(?P<length>.+?)$")
# "move X an hour later", "make X 10 minutes earlier", "X 20 minutes later"
_SHIFT_BEFORE = re.compile(r"^(?P<head>.+?)\s+(?:by\s+)?(?P<dir>later|earlier|sooner)$")
# "delay X by 20 minutes", "postpone X (by) a day"
_DELAY = re.compile(r"^(?:please\s+)?(?P<dir>delay|postpone)\s+(?P<target>.+?)\s+(?:by|for)\s+"
                    r"(?P<length>.+)$")
# "rename X to Y", "call X Y instead", "change the name of X to Y"
_RENAME = re.compile(
    r"^(?:please\s+)?(?:rename|change the (?:name|title) of|retitle)\s+(?P<target>.+?)\s+"
    r"(?:to|as)\s+(?P<name>.+)$")
# "move X to Y", "change X to Y", "reschedule X for Y", "make X Y"
_MOVE = re.compile(rf"^{_VERB}\s+(?:the time of\s+)?(?P<target>.+?)\s+"
                   r"(?:(?:to|till|until|for|so it is|so that it is)\s+|instead of\s+\S+\s+to\s+)"
                   r"(?P<time>.+?)(?:\s+instead)?$")
_MAKE = re.compile(r"^(?:please\s+)?make\s+(?P<target>it|that|this|the \w+|my \w+)\s+(?P<time>.+?)"
                   r"(?:\s+instead)?$")
_LATER = {"back": 1, "on": 1, "later": 1, "delay": 1, "postpone": 1,
          "forward": -1, "forwards": -1, "ahead": -1, "up": -1, "earlier": -1, "sooner": -1}
_LENGTH_WORD = re.compile(r"\b(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|half an? hour|"
                          r"quarter of an hour|an hour)\b")


@dataclass
class EditParts:
    """The words of the item (`target`) and of the change; only one change kind is set."""

    target: str
    new_time: str | None = None  # words of the new moment ("friday at 3pm")
    shift_sign: int = 0  # +1 later, -1 earlier (with `length`)
    length: str | None = None  # words of the shift ("an hour")
    new_name: str | None = None


def split_edit(text: str) -> EditParts:
    """The target and the change of an edit request; the whole text is the target when no
    change is found (the handler then asks for one)."""
    s = " ".join(re.sub(r"[,.!?]+(\s|$)", r"\1", text.strip()).split())
    low = s.lower()

    def said(m: re.Match[str], name: str) -> str:  # the user's own words (their case)
        return s[m.start(name):m.end(name)]

    m = _RENAME.match(low)
    if m:
        return EditParts(said(m, "target"), new_name=said(m, "name"))
    m = _DELAY.match(low)
    if m and _LENGTH_WORD.search(m.group("length")):
        return EditParts(said(m, "target"), shift_sign=1, length=m.group("length"))
    m = _SHIFT_AFTER.match(low)
    if m and _LENGTH_WORD.search(m.group("length")):
        return EditParts(said(m, "target"), shift_sign=_LATER[m.group("dir")],
                         length=m.group("length"))
    m = _SHIFT_BEFORE.match(low)
    if m:
        head = m.group("head")
        # the length is the last "<number|a|an|half> ... <unit>" before later/earlier
        lm = re.search(r"(?:\b(?:by\s+)?(?:a|an|half|one|two|three|four|five|six|ten|fifteen|"
                       r"twenty|thirty|forty|forty five|\d+(?:\.\d+)?)\s+(?:\w+\s+){0,3}?"
                       rf"{_LENGTH_WORD.pattern})$", head)
        if lm:
            target = re.sub(rf"^{_VERB}\s+", "", s[: lm.start()].strip(), flags=re.IGNORECASE)
            return EditParts(target, shift_sign=_LATER[m.group("dir")], length=lm.group(0))
    m = _MOVE.match(low) or _MAKE.match(low)
    if m:
        return EditParts(said(m, "target"), new_time=said(m, "time"))
    return EditParts(re.sub(rf"^{_VERB}\s+", "", s, flags=re.IGNORECASE))


__all__ = ["EditParts", "split_edit"]
