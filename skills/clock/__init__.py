"""Clock: "what time is it", "what's the date today" in the configured zone."""

from __future__ import annotations

from assistant import phrasing
from assistant.events import ParseResult
from assistant.skill import Context, Response, Skill

SKILL = Skill("clock")


@SKILL.intent("time.query")
def time_query(ctx: Context, parsed: ParseResult) -> Response:
    return Response(f"It's {phrasing.clock(ctx.now)}.")


@SKILL.intent("date.query")
def date_query(ctx: Context, parsed: ParseResult) -> Response:
    now = ctx.now
    return Response(f"Today is {now.strftime('%A')}, {now.strftime('%B')} {now.day}, {now.year}.")
