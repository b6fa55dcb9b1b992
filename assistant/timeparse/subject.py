"""What a reminder is about, what an alarm or timer is called, what an event is.

The time words are cut out first (the resolver reports which words it used); what is
left is read with a few trigger phrases: "remind me (to|that|about) X", "don't let me
forget to X", "an alarm called X", "a pasta timer", "schedule a dentist appointment".

Pronouns are kept as the user said them: "remind me to take my pills" gives the subject
"take my pills" and "remind me to call you" gives "call you". The subject is the user's
own words; the speech layer turns the persons round when it speaks ("my" -> "your").
"""

from __future__ import annotations

import re

# Words that join a time phrase to the sentence; dropped when they sit right before one.
CONNECTIVES = {"at", "on", "in", "for", "by", "from", "this", "next", "every", "each", "around",
               "about", "starting", "until", "till", "before", "after", "of", "the", "coming"}
_WAKE = r"(?:assistant|google|siri|alexa|olly|computer|jarvis|cortana|mycroft|there)"
_LEAD = re.compile(
    r"^(?:(?:hey|ok|okay|hi) (?:" + _WAKE + r" )?\s*|" + _WAKE + r" |please |kindly |(?:can|could|would|will) you (?:please )?"
    r"|i (?:want|need|would like|'d like|d like) you to |i want to |i'd like to |just |and |so )+")
_TRAIL = re.compile(r"(?:\s+(?:please|thanks|thank you|ok|okay|for me|again|now|can you|could you|would you"
                    r"|will you|so|and then|and))+$")
# ("in"/"on" stay: "log in", "turn the heating on")
_DANGLING = re.compile(r"(?:\s+(?:at|for|by|to|and|the|from|of|with|about|starting|until))+$")
_REMIND = re.compile(
    r"\b(?:remind (?:me|us)|remind(?= to\b)|reminder|remember me|help me remember|remember"
    r"|(?:don'?t|do not|mustn'?t|must not|can'?t|cannot|shouldn'?t) (?:let me )?forget|make sure (?:that )?i"
    r"|note to self|ping me|alert me|tell me)\b(?: (?:please|again))?(?: (?:to|that|about|of|for|regarding))?\b\s*")
_SUBJ_LEAD = re.compile(
    r"^(?:(?:me|us) to |to |that |about |i (?:need|have|must|should|ought) to |i've got to |i gotta |we (?:need|have) to "
    r"|i (?:need|have) |i must |i should )+")
_NAMED = re.compile(r"\b(?:called|named|labell?ed|titled|with (?:the )?(?:label|name|title)|label)\s+(?P<x>.+)$")
_CAL_VERB = re.compile(
    r"^(?:(?:schedule|jot down|note down|write down|put down|pencil in|book in|block out|block off|"
    r"add|create|put|book|set up|make|plan|set|enter|insert|arrange|organize|new|note|flag|"
    r"mark (?:my |the )?(?:calendar|schedule|diary)(?: for| with)?|mark|i have|i've got|there is|there's|"
    r"i need|i want|i'd like|i would like|block (?:off|out)?)\s+)+(?:(?:a|an|the|my|new)\s+)*")
_CAL_WHERE = re.compile(
    r"\b(?:to|on|in|into|onto|for) (?:my|the|our)(?: [\w'-]+)? (?:calendar|schedule|agenda|diary|planner)\b")
_CAL_TRAIL = re.compile(r"\s*,?\s*(?:(?:can you |please )?(?:put|save|note|add|write|pencil|jot|mark|book|stick) it"
                        r"(?: down| in)?(?: (?:in|on|to|into) (?:my|the|our) \w+)?(?: please)?)$")
_EVENT_WORD = re.compile(r"^(?:(?:an?|the|new)\s+)?(?:event|entry)\s+(?=\S)")
_EVENT_CALLED = re.compile(r"^(?:(?:an?|the|my|new)\s+)*(?:event|entry|appointment|meeting|item)\s+(?:called|named|titled|for|about)\s+(?P<x>.+)$")
_ARTICLES = re.compile(r"^(?:(?:a|an|the|my|our|this|that)\s+)+")
_CANCEL_VERB = re.compile(
    r"^(?:(?:cancel|delete|remove|clear|drop|forget|stop|turn off|switch off|disable|dismiss|erase|"
    r"get rid of|never ?mind|call off|scrap|kill|end|take off|take|unschedule)\s+)+")
_ALL = re.compile(r"\b(?:all|every|everything|each)\b")


_PARTICLES = {"in"}  # the only particle that is also a connective ("allen on tomorrow" is not one)
# time words that take no preposition: a particle right before them belongs to the verb
_NO_PREPOSITION = {"tonight", "today", "tomorrow", "this", "next", "later", "tomorrow's", "tonight's"}
_PREPOSITIONS = {"at", "on", "in", "for", "by", "from", "until", "till", "every", "each", "after", "before"}


def remaining_words(words: list[str], used: set[int]) -> list[str]:
    """Words not used by time phrases, minus a connective that led into a time phrase
    ("... on | friday"), unless the phrase has its own ("log in | at 9" keeps "in")."""
    keep = [i not in used for i in range(len(words))]
    for i in reversed(range(len(words) - 1)):  # right to left: "on the | morning of ..."
        w, nxt = words[i].lower(), words[i + 1].lower()
        if not keep[i] or keep[i + 1]:
            continue
        if w in _PARTICLES and nxt in _NO_PREPOSITION:
            continue  # "bring the washing in | tonight": a phrasal verb's particle
        if (w in CONNECTIVES and nxt not in _PREPOSITIONS) or (w in ("early", "late") and (i + 1) in used):
            keep[i] = False
    return [w for i, w in enumerate(words) if keep[i]]


def _cut(words: list[str], rx: re.Pattern[str], group: str | None = None) -> list[str] | None:
    """Words after (or of `group` in) the first match of rx on the lowercase text."""
    low = " ".join(w.lower() for w in words)
    m = rx.search(low)
    if not m:
        return None
    start = m.start(group) if group else m.end()
    end = m.end(group) if group else len(low)
    first = low[:start].count(" ") if start < len(low) else len(words)
    last = low[:end].count(" ") + (1 if end and low[end - 1] != " " else 0)
    return words[first:last]


def _clean(words: list[str] | None, lead: re.Pattern[str] | None = None) -> str | None:
    if not words:
        return None
    text = " ".join(words).strip(" ,.;:!?")
    for _ in range(3):
        before = text
        low = text.lower()
        for rx in ([lead] if lead else []) + [_LEAD]:
            m = rx.match(low)
            if m and m.end():
                text = text[m.end():]
                low = text.lower()
        m = _TRAIL.search(low)
        if m:
            text = text[:m.start()]
            low = text.lower()
        m = _DANGLING.search(low)
        if m:
            text = text[:m.start()]
        text = text.strip(" ,.;:!?")
        if text == before:
            break
    return text or None


# "remind my wife to X": the reminder is for someone else; the subject says so
_FOR_OTHER = re.compile(
    r"\b(?:remind|reminder for|reminder to remind|tell) (?P<who>(?:my|our) [\w'-]+|him|her|them|the kids|the children|everyone|everybody"
    r"|(?!me\b|us\b|to\b|the\b|a\b|it\b|about\b|again\b|later\b|please\b|myself\b)[a-z][\w'-]*) to (?=\S)")


def reminder_subject(words: list[str]) -> str | None:
    """'remind me to X' / 'remind me about X' / "don't let me forget to X" -> X;
    'remind my wife to X' -> 'X (for my wife)'."""
    low = " ".join(w.lower() for w in words)
    m = _FOR_OTHER.search(low)
    if m and not re.search(r"\bremind (?:me|us)\b", low[:m.start()]) and not m.group(0).startswith("tell"):
        who = " ".join(words[low[:m.start("who")].count(" "):low[:m.end("who")].count(" ") + 1])
        got = _clean(words[low[:m.end()].count(" "):], _SUBJ_LEAD)
        return f"{got} (for {who})" if got else None
    after = _cut(words, _REMIND)
    if after is None:
        return _clean(words, _SUBJ_LEAD)
    for _ in range(2):  # "don't forget to remind me of X" -> X
        low = " ".join(w.lower() for w in after)
        m = _REMIND.search(low)
        if not (m and re.match(r"^(?:to |that )?$", low[:m.start()])):
            break
        after = _cut(after, _REMIND) or []
    got = _clean(after, _SUBJ_LEAD)
    if got is None:  # "I have an appointment tomorrow, remind me": the words before
        low = " ".join(w.lower() for w in words)
        m = re.search(r"\bremind (?:me|us)\b", low)
        if m and m.start() > 0:
            got = _clean(words[:low[:m.start()].count(" ")], _SUBJ_LEAD)
            got = _clean(got.split(), _ARTICLES) if got else None
    if got and got.lower() in ("a", "an", "the", "me", "it", "this"):
        return None
    return got



def alarm_label(words: list[str]) -> str | None:
    return _clean(_cut(words, _NAMED, "x"))


_TIMER_BEFORE = re.compile(r"\b(?:a|an|the|my|that|this)\s+(?P<x>(?:[\w'-]+\s+){1,3}?)timer\b")
_TIMER_AFTER = re.compile(r"\btimer\s+(?:for|on)\s+(?P<x>.+)$")
_NOT_LABELS = {"new", "another", "quick", "one", "second", "minute", "hour", "countdown", "current",
               "running", "kitchen timer"}


def timer_label(words: list[str]) -> str | None:
    """'a pasta timer' / 'a timer for the pasta' / 'a timer called pasta' -> 'pasta'."""
    for rx in (_NAMED, _TIMER_BEFORE, _TIMER_AFTER):
        got = _clean(_cut(words, rx, "x"), _ARTICLES)
        if got and got.lower() not in _NOT_LABELS and not got.lower().startswith(("set ", "start ")):
            return got
    return None


def calendar_subject(words: list[str]) -> str | None:
    """'schedule a dentist appointment' -> 'dentist appointment'; 'an event called X' -> X."""
    low = " ".join(w.lower() for w in words)
    m = _CAL_WHERE.search(low)
    if m:
        a, b = low[:m.start()].count(" "), low[:m.end()].count(" ") + 1
        words = words[:a] + words[b:]
    text = _clean(words)
    if not text:
        return None
    low = text.lower()
    m = _CAL_TRAIL.search(low)  # "i've got a parents evening on the ninth, put it down"
    if m and m.start() > 0:
        text, low = text[:m.start()].rstrip(" ,"), low[:m.start()].rstrip(" ,")
    m = _CAL_VERB.match(low)
    if m:
        text, low = text[m.end():], low[m.end():]
    m = _EVENT_CALLED.match(low)
    if m:
        text = text[m.start("x"):]
    else:
        m = _EVENT_WORD.match(low)  # "add event baseball practice"
        if m:
            text = text[m.end():]
    text = _clean(text.split(), _ARTICLES) or ""
    text = re.sub(r"^for\s+(?=\S)", "", text)  # "block out two hours | for gardening"
    return None if text.lower() in ("", "event", "an event", "entry") else text


def cancel_subject(words: list[str], domain: str) -> tuple[str | None, str | None]:
    """(subject, label) of the item to cancel; subject "all" for 'cancel all my alarms'."""
    low = " ".join(w.lower() for w in words)
    if _ALL.search(low):
        return "all", None
    if domain == "timer":
        return None, timer_label(words)
    if domain == "alarm":
        label = alarm_label(words)
        if label is None:
            got = _cut(words, re.compile(
                r"\b(?:the|my|that|cancel|delete|remove|stop|off)\s+(?P<x>(?:[\w'-]+\s+){1,3}?)alarms?\b"), "x")
            label = _clean(got, _ARTICLES)
            if label and label.lower() in ("my", "the", "all", "next", "current", "this", "that"):
                label = None
        return None, label
    if domain == "reminder":
        after = _cut(words, re.compile(r"\breminders?\s+(?:to|about|for|that|of|regarding)\s+"))
        if after is None:
            after = _cut(words, _REMIND)
        if after is not None:
            return _clean(after, _SUBJ_LEAD), None
    text = _clean(words) or ""
    low = text.lower()
    m = _CANCEL_VERB.match(low)
    if m:
        text = text[m.end():]
    text = _clean(text.split(), _ARTICLES) or ""
    text = re.sub(r"\s*\b(?:reminders?|events?|appointments? on my calendar|from my calendar|"
                  r"from the calendar|on my calendar|in my calendar|on the calendar)$", "", text, flags=re.IGNORECASE).strip()
    text = re.sub(r"^(?:my |the )?(?:calendar |schedule )?(?:events?|schedule|calendar|day)$", "", text,
                  flags=re.IGNORECASE).strip()
    text = _clean(text.split(), _ARTICLES) or ""
    return (text or None), None


def list_subject(words: list[str]) -> str | None:
    """'what reminders do I have about the car' -> 'the car' (a filter), else None."""
    got = _cut(words, re.compile(r"\b(?:about|regarding|concerning|related to|to do with)\s+(?P<x>.+)$"), "x")
    return _clean(got)
