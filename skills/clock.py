"""Clock: "what time is it", "what's the date today" in the configured zone."""

from __future__ import annotations

from assistant import phrasing
from assistant.events import ParseResult
from skills.base import Context, Response, Skill


class Clock(Skill):
    name = "clock"
    intents = ("time.query", "date.query")

    def handle(self, ctx: Context, parsed: ParseResult) -> Response:
        now = ctx.now
        if parsed.intent == "time.query":
            return Response(f"It's {phrasing.clock(now)}.")
        return Response(f"Today is {now.strftime('%A')}, {now.strftime('%B')} {now.day}, {now.year}.")


SKILL = Clock()
