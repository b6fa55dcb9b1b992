"""Shopping list: "add milk and eggs to my shopping list", "what's on my shopping list".

Written only against the public skill API (`assistant.skill`, `assistant.store.lists`,
`assistant.phrasing`): the proof that a skill needs no change in the core. The items live
in the assistant's SQLite store and are the same list the web page shows and edits
(`assistant.store.lists.SHOPPING`); every change, from either side, is published retained
on MQTT as JSON on `{root}/shopping_list`: {"items": ["milk", "eggs"], "count": 2,
"done": ["bread"]}.

Items checked off on the web page stay there, ticked, until removed: "what's on my
shopping list" reads only the items still needed; adding an item that is checked off puts
it back (un-checks it); "remove milk" and "clear" remove checked-off items too.
"""

from __future__ import annotations

import re

from assistant import phrasing
from assistant.events import ParseResult
from assistant.skill import Context, FollowUp, Response, Skill
from assistant.store.lists import MAX_ITEM, SHOPPING, SHOPPING_TOPIC, NamedList

LIST = SHOPPING
TOPIC = SHOPPING_TOPIC  # -> {root}/shopping_list

SKILL = Skill("shopping_list")

_LEAD = re.compile(
    r"^(?:(?:hey|ok|okay|please|can you|could you|would you|will you|kindly|also|and|just|so|"
    r"go ahead and|i want you to|i need you to)\s+)*"
)
_VERB = re.compile(
    r"^(?:add|put|stick|pop|include|we need|we'?re out of|we are out of|i'?m out of|i am out of|"
    r"we'?ve run out of|remove|delete|take|cross off|cross|tick off|strike|scratch|drop|"
    r"i bought|i got|we have|we'?ve got|i don'?t need|we don'?t need|i do not need|"
    r"we do not need|is|are|(?:shopping|grocery) list (?:add|remove))\s+"
)
_TAIL = re.compile(
    r"\s*\b(?:(?:to|on|onto|from|off|in|into|of)\s+)?(?:the\s+|my\s+|our\s+)?"
    r"(?:shopping|grocery|groceries)?\s*list\b.*$"
)
_TRAIL = re.compile(r"(?:\s+(?:please|too|as well|now|anymore|any more|off|thanks|thank you))+$")
_SPLIT = re.compile(r"\s*(?:,|\band\b|&|\bplus\b)\s*")
_ARTICLE = re.compile(
    r"^(?:some more|some|an|the|more|a(?!\s+(?:dozen|couple|few|pack|bag|box|"
    r"bottle|loaf|can|jar|bunch|carton)\b))\s+"
)
_PRONOUN = {"it", "that", "them", "this", "those", "these", "everything", "something"}


def items_in(text: str) -> list[str]:
    """The items named in a request: "add milk and eggs to my list" -> ["milk", "eggs"]."""
    t = " ".join(text.lower().strip(" .!?").split())
    t = _LEAD.sub("", t)
    t = _VERB.sub("", t)
    t = _TAIL.sub("", t)
    t = _TRAIL.sub("", t)
    out: list[str] = []
    for part in _SPLIT.split(t):
        part = _ARTICLE.sub("", part.strip(" .,!?"))
        if part and part not in _PRONOUN and part not in out:
            out.append(part)
    return out


def _share(ctx: Context, shopping: NamedList) -> None:
    ctx.share(TOPIC, shopping.state())


def _on_list(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"


@SKILL.at_start
def publish_at_start(ctx: Context) -> None:
    _share(ctx, NamedList(ctx.store, LIST))


@SKILL.intent("shopping_list.add")
def add(ctx: Context, parsed: ParseResult) -> Response:
    items = items_in(parsed.slots.get("subject") or parsed.text)
    if not items:
        return Response(
            "What should I add to the shopping list?",
            follow_up=FollowUp("slot", parsed.intent, dict(parsed.slots), missing="subject"),
        )
    too_long = [i for i in items if len(i) > MAX_ITEM]
    if too_long:
        msg = f"That is too long for a shopping list item; keep it under {MAX_ITEM} characters."
        return Response(msg, ok=False, error=msg)
    shopping = NamedList(ctx.store, LIST)
    added, present = shopping.add(items)
    _share(ctx, shopping)
    parts = []
    if added:
        parts.append(f"I added {phrasing.join_items(added)} to your shopping list.")
    if present:
        verb = "is" if len(present) == 1 else "are"
        parts.append(f"{phrasing.sentence(phrasing.join_items(present))} {verb} already on it.")
    return Response(" ".join(parts))


@SKILL.intent("shopping_list.remove")
def remove(ctx: Context, parsed: ParseResult) -> Response:
    items = items_in(parsed.text)
    if not items:
        msg = "Which item should I take off the shopping list?"
        return Response(msg, ok=False, error="no item named")
    shopping = NamedList(ctx.store, LIST)
    gone, missing = shopping.remove(items)
    _share(ctx, shopping)
    if not gone:
        msg = f"{phrasing.sentence(phrasing.join_items(missing))} isn't on your shopping list."
        return Response(msg, ok=False, error="not on the list")
    text = f"I removed {phrasing.join_items(gone)} from your shopping list."
    if missing:
        text += f" {phrasing.sentence(phrasing.join_items(missing))} wasn't on it."
    return Response(text)


@SKILL.intent("shopping_list.list")
def read_back(ctx: Context, parsed: ParseResult) -> Response:
    items = NamedList(ctx.store, LIST).items()
    if not items:
        return Response("Your shopping list is empty.")
    return Response(
        f"You have {_on_list(len(items))} on your shopping list: {phrasing.join_items(items)}."
    )


@SKILL.intent("shopping_list.clear")
def clear(ctx: Context, parsed: ParseResult) -> Response:
    n = len(NamedList(ctx.store, LIST).entries())  # checked-off items go too
    if not n:
        return Response("Your shopping list is already empty.")

    def do_clear(c: Context) -> Response:
        shopping = NamedList(c.store, LIST)
        done = shopping.clear()
        _share(c, shopping)
        return Response(f"Done, I cleared {_on_list(done)} from your shopping list.")

    return Response(
        f"Do you want me to clear all {_on_list(n)} from your shopping list?",
        follow_up=FollowUp("confirm", parsed.intent, {}, action=do_clear),
    )
