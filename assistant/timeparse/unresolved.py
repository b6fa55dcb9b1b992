"""Parts of a request we cannot turn into a time: we say so instead of guessing.

"when I get home" (a place or an event we cannot observe), "at sunset" (no location),
"on my birthday" (a personal date we do not know), a holiday that moves ("Easter",
"Mother's Day": which country?), "10 minutes before my dentist appointment" (an anchor
with no time given). Each match is cut out of the subject and reported in the parse
result's `unresolved` list; a create request with anything unresolved is refused with a
question instead of being stored with an invented time (assistant/pipeline.py).
Fixed-date holidays (Christmas, New Year's Eve, Halloween) are ordinary dates (dates.py).
"""

from __future__ import annotations

import re

_WHO = r"(?:i|we|you|he|she|they|it|the kids|the children|my [a-z']+|[a-z]+)"
_TAIL = r"(?: (?!(?:to|remind|and|then|please|tomorrow|today|tonight)\b)[a-z'#]+){0,4}"
# Hard: never a time we can know. Soft (SOFT_TRIGGERS): "after school", "at sunset" only
# count when no clock time is said ("pick up the kids after school at 3:15" is fine).
TRIGGERS: list[re.Pattern[str]] = [
    # an event we cannot observe: arriving, leaving, waking, finishing
    re.compile(rf"\b(?:when|once|as soon as|whenever|next time|the moment) {_WHO}(?:'m|'re|'s| am| are| is| get| gets"
               rf"| got| arrive| arrives| leave| leaves| come| comes| go| goes| wake| wakes| reach| finish| finishes"
               rf"| see| pass| drive| walk| pull| hit| start| starts| land| lands){_TAIL}"),
    # a thing we cannot observe: "when the washing machine finishes"
    re.compile(rf"\b(?:when|once|as soon as|whenever) (?:the|my|our|his|her|their|a) [a-z' ]{{1,30}}? (?:finish|finishes"
               rf"|finished|is done|are done|is ready|are ready|stops|ends|starts|arrives|arrive|comes|come|gets|get"
               rf"|leaves|leave|rings|beeps|opens|closes|wakes|wake|is over|are over|goes off){_TAIL}"),
    # personal dates
    re.compile(r"\b(?:on|before|by|until|till|after) (?:(?:my|our|his|her|their|your|the) )?(?:my|our|his|her|their|your|[a-z]+'s) (?:birthday|bday|anniversary"
               r"|name day|wedding day|wedding anniversary|payday|pay day)\b"),
    # moving holidays (country-dependent or lunar)
    re.compile(r"\b(?:on|at|over|by|before|until|till|after) (?:easter(?: sun| mon| sunday| monday)?|mother'?s'? day|father'?s'? day|thanksgiving"
               r"|good friday|black friday|diwali|hanukkah|eid|ramadan|chinese new year|lunar new year|labou?r day"
               r"|memorial day|independence day|st patrick'?s day|pancake day|bank holiday|the bank holiday)\b"),
]

SOFT_TRIGGERS: list[re.Pattern[str]] = [
    # the sun: needs a location we do not have
    re.compile(r"\b(?:at|around|by|before|after|on) (?:the )?(?:sunset|sunrise|dawn|dusk|sundown|sunup|daybreak|nightfall)\b"),
    # daily routines with no clock time
    re.compile(r"\b(?:before|after|at|during|with|over) (?:my |the |our )?(?:lunch|lunchtime|dinner|dinnertime|breakfast"
               r"|supper|teatime|bedtime|work|school|church|the gym|my shift|practice|class)\b"),
]


_CUES = re.compile(r"\b(?:when|once|as soon|whenever|next time|the moment|birthday|bday|anniversary|name day"
                   r"|wedding|payday|pay day|easter|mother|father|thanksgiving|good friday|black friday|diwali"
                   r"|hanukkah|eid|ramadan|new year|labou?r day|memorial day|independence day|patrick|pancake"
                   r"|bank holiday)")
_SOFT_CUES = re.compile(r"\b(?:before|after|at|around|by|on|during|with|over) ")


def find(work: str, soft: bool = False) -> list[tuple[int, int]]:
    """Spans of `work` (the canonical string) that name a time we cannot resolve."""
    if not (_SOFT_CUES if soft else _CUES).search(work):
        return []
    return [m.span() for rx in (SOFT_TRIGGERS if soft else TRIGGERS) for m in rx.finditer(work)]
