"""Server-rendered pages: everything works as plain HTML forms; app.js only adds live updates.

Every form post carries the CSRF token of the browser's `assistant_csrf` cookie and ends
in a redirect (post/redirect/get), so a reload never repeats an action.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assistant.events import Request as AssistantRequest
from assistant.http import charts
from assistant.http.items import (
    NotFound,
    cancel_item,
    describe,
    remaining_text,
    update_item,
)
from assistant.http.security import CSRF_COOKIE, SESSION_COOKIE
from assistant.http.shopping import MAX_TEXT as SHOPPING_MAX
from assistant.store.db import ItemConflict

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["remaining"] = remaining_text
NAV = [("/", "Today"), ("/timers", "Timers"), ("/calendar", "Week"), ("/shopping", "Shopping"),
       ("/status", "Status")]


def ctx_of(request: Request) -> Any:
    return request.app.state.ctx


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    ctx = ctx_of(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = cookie is None or len(cookie) != 43
    if new_cookie:
        cookie = secrets.token_urlsafe(32)
    now = ctx.assistant.now()
    resp = templates.TemplateResponse(request, name, {
        "nav": NAV, "path": request.url.path, "csrf": ctx.auth.csrf_for(cookie),
        "auth_required": ctx.auth.required, "now": now, "now_ts": time.time(),
        "notice": request.query_params.get("notice"), "error": request.query_params.get("error"),
        **values}, status_code=status)
    if new_cookie:
        resp.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="strict")
    return resp


async def form_of(request: Request) -> dict[str, str]:
    """The posted form after its CSRF check; raises Refused when the token is wrong."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not ctx_of(request).auth.check_csrf(request.cookies.get(CSRF_COOKIE), values.get("csrf")):
        raise Refused()
    return values


class Refused(Exception):
    pass


def back(target: str, notice: str | None = None, error: str | None = None) -> RedirectResponse:
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    parts = urlsplit(target)
    target = parts.path or "/"
    sep = "?"
    if notice:
        target += f"{sep}notice={quote(notice)}"
        sep = "&"
    if error:
        target += f"{sep}error={quote(error)}"
    if parts.fragment:
        target += "#" + parts.fragment
    return RedirectResponse(target, 303)


def csrf_failed(request: Request) -> HTMLResponse:
    return render(request, "message.html", 403, title="Form expired",
                  message="This form is too old or came from another site. Go back, reload "
                          "the page and try again.")


def not_found(request: Request) -> HTMLResponse:
    return render(request, "message.html", 404, title="Not found",
                  message="There is no such page or item.")


# -- today and upcoming ----------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request, all: int = 0) -> HTMLResponse:
    ctx = ctx_of(request)
    now = ctx.assistant.now()
    zone = ctx.assistant.zone
    items = [it for it in ctx.assistant.store.pending() if it.kind != "timer"]
    day = {it.id: it.due.astimezone(zone).date() for it in items}
    week_end = now.date() + timedelta(days=7)
    today = [it for it in items if day[it.id] == now.date()]
    soon = [it for it in items if now.date() < day[it.id] <= week_end]
    later = [it for it in items if day[it.id] > week_end]
    # A phone page stays light even with a thousand items: the rest is one link away.
    shown_soon = soon if all else soon[:100]
    shown_later = later if all else later[:50]

    def view(chosen: list) -> list[dict[str, Any]]:
        return [describe(it, zone, now) for it in chosen]

    timers = [describe(it, zone, now) for it in ctx.assistant.store.pending(kind="timer")]
    key = request.cookies.get(CSRF_COOKIE, "")
    return render(request, "home.html", today=view(today), soon=view(shown_soon),
                  later=view(shown_later),
                  later_hidden=len(later) - len(shown_later),
                  soon_hidden=len(soon) - len(shown_soon), timers=timers,
                  conversation=ctx.conversations.get(key, []), sites=ctx.cfg.sites(),
                  site=ctx.site)


@router.post("/command")
async def command(request: Request) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    ctx = ctx_of(request)
    text = form.get("text", "").strip()
    site = form.get("site") or ctx.site
    if site not in ctx.cfg.sites():  # the page offers the configured sites only
        site = ctx.site
    from starlette.concurrency import run_in_threadpool

    reply = await run_in_threadpool(
        ctx.assistant.handle, AssistantRequest(text=text, site=site, source="http"))
    ctx.remember(request.cookies.get(CSRF_COOKIE, ""), {
        "said": text, "speech": reply.speech, "ok": reply.ok, "intent": reply.intent,
        "site": site, "at": time.time()})
    return back(form.get("back", "/") + "#conversation")


@router.post("/items/{item_id}/cancel")
async def cancel(request: Request, item_id: str) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    try:
        item = cancel_item(ctx_of(request).assistant, item_id)
    except NotFound:
        return not_found(request)
    except ItemConflict as exc:
        return back(form.get("back", "/"), error=str(exc))
    return back(form.get("back", "/"), notice=f"Cancelled: {item.subject or item.label or item.kind}")


@router.get("/items/{item_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, item_id: str) -> HTMLResponse:
    ctx = ctx_of(request)
    item = ctx.assistant.store.get(item_id)
    if item is None:
        return not_found(request)
    return render(request, "edit.html", item=describe(item, ctx.assistant.zone,
                                                      ctx.assistant.now()))


@router.post("/items/{item_id}/edit")
async def edit(request: Request, item_id: str) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    ctx = ctx_of(request)
    item = ctx.assistant.store.get(item_id)
    if item is None:
        return not_found(request)
    view = describe(item, ctx.assistant.zone, ctx.assistant.now())
    due = None
    if form.get("due") and form["due"] != view["due_local"]:
        try:
            due = datetime.fromisoformat(form["due"])
        except ValueError:
            return back(f"/items/{item_id}/edit", error="That is not a date and time.")
    field = "label" if item.kind in ("timer", "alarm") and not item.subject else "subject"
    title = form.get("title", "").strip()
    rename = title if title and title != (getattr(item, field) or "") else None
    try:
        version = float(form["version"]) if form.get("version") else None
        update_item(ctx.assistant, item_id, due=due, expect_updated=version, **{field: rename})
    except ItemConflict as exc:
        return back(f"/items/{item_id}/edit", error=str(exc).capitalize() + ".")
    except (ValueError, NotFound) as exc:
        return back(f"/items/{item_id}/edit", error=str(exc))
    return back("/", notice="Saved.")


# -- timers ----------------------------------------------------------------------------
@router.get("/timers", response_class=HTMLResponse)
def timers(request: Request) -> HTMLResponse:
    ctx = ctx_of(request)
    now = ctx.assistant.now()
    running = [describe(it, ctx.assistant.zone, now)
               for it in ctx.assistant.store.pending(kind="timer")]
    return render(request, "timers.html", timers=running, site=ctx.site,
                  conversation=ctx.conversations.get(request.cookies.get(CSRF_COOKIE, ""), []))


# -- week view -------------------------------------------------------------------------
@router.get("/calendar", response_class=HTMLResponse)
def week(request: Request, week: str | None = None) -> HTMLResponse:
    ctx = ctx_of(request)
    now = ctx.assistant.now()
    zone = ctx.assistant.zone
    try:
        monday = date.fromisoformat(week + "-1") if week else None  # 2026-W49-1
    except ValueError:
        monday = None
    if monday is None:
        monday = now.date() - timedelta(days=now.weekday())
    start = datetime.combine(monday, datetime.min.time(), zone)
    end = start + timedelta(days=7)
    items = [describe(it, zone, now) for it in ctx.assistant.store.pending()
             if it.kind != "timer" and start.timestamp() <= it.due_ts < end.timestamp()]
    days = [(monday + timedelta(days=i), [it for it in items
                                          if it["day"] == monday + timedelta(days=i)])
            for i in range(7)]
    iso = monday.isocalendar()
    prev_w = (monday - timedelta(days=7)).isocalendar()
    next_w = (monday + timedelta(days=7)).isocalendar()
    host = request.headers.get("host", "localhost")
    feed = "/calendar.ics" + (f"?token={ctx.auth.feed_token()}" if ctx.auth.required else "")
    return render(request, "week.html", days=days, today=now.date(),
                  label=f"Week {iso.week}, {iso.year}",
                  prev=f"{prev_w.year}-W{prev_w.week:02d}", next=f"{next_w.year}-W{next_w.week:02d}",
                  feed=feed, webcal=f"webcal://{host}{feed}")


# -- shopping list ---------------------------------------------------------------------
@router.get("/shopping", response_class=HTMLResponse)
def shopping(request: Request) -> HTMLResponse:
    return render(request, "shopping.html", items=ctx_of(request).shopping.items(),
                  max_text=SHOPPING_MAX)


@router.post("/shopping")
async def shopping_add(request: Request) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    ctx = ctx_of(request)
    try:  # off the event loop: the store may be busy with a voice request
        item, new = await asyncio.to_thread(ctx.shopping.add, form.get("text", ""))
    except ValueError as exc:
        return back("/shopping", error=str(exc).capitalize() + ".")
    return back("/shopping", notice=f"{'Added' if new else 'Already on the list:'} {item['text']}.")


@router.post("/shopping/{item_id}")
async def shopping_change(request: Request, item_id: str) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    ctx = ctx_of(request)
    if form.get("action") == "remove":
        if not await asyncio.to_thread(ctx.shopping.remove, item_id):
            return not_found(request)
        return back("/shopping", notice="Removed.")
    item = await asyncio.to_thread(ctx.shopping.set_done, item_id, form.get("done") == "1")
    if item is None:
        return not_found(request)
    return back("/shopping", notice=("Got " if item["done"] else "Still need ") + item["text"] + ".")


# -- status ----------------------------------------------------------------------------
@router.get("/status", response_class=HTMLResponse)
def status(request: Request) -> HTMLResponse:
    ctx = ctx_of(request)
    now = ctx.assistant.now()
    t0 = now.timestamp() - 86400
    rows = ctx.requests.since(t0)
    series = []
    for group, css in (("command", "s-command"), ("api", "s-api"), ("page", "s-page")):
        pts = [(ts, ms) for ts, g, ms in rows if g == group]
        series.append(charts.Series(
            {"command": "text commands", "api": "API", "page": "pages"}[group], pts, css,
            charts.bucket_percentile(pts, t0, now.timestamp(), 1800, 0.99)))
    latency = charts.time_chart("HTTP request latency, last 24 h (ms, log scale; lines: "
                                "99th percentile per 30 min)", "ms", series, now,
                                ctx.assistant.zone, log_scale=True)
    fires = ctx.assistant.store.fires_since(t0)
    lateness = charts.time_chart(
        "Fire lateness, last 24 h (ms, log scale)", "ms",
        [charts.Series("reminders, alarms, timers", [(ts, late * 1000) for ts, late in fires],
                       "s-fire")], now, ctx.assistant.zone, log_scale=True)
    stats = ctx.stats()
    http = {"requests": ctx.requests.percentiles(t0),
            "commands": ctx.requests.percentiles(t0, "command"),
            "clients": len(ctx.hub.clients), "dropped": ctx.hub.dropped}
    return render(request, "status.html", stats=stats, http=http, latency_svg=latency,
                  lateness_svg=lateness)


# -- login -----------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=next)


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        form = await form_of(request)
    except Refused:
        return csrf_failed(request)
    ctx = ctx_of(request)
    if not ctx.auth.check_login(form.get("token", "")):
        await asyncio.sleep(0.5)  # slows guessing; the rate limit does the rest
        return render(request, "login.html", 401, next=form.get("next", "/"),
                      error="That token is not right.")
    resp = back(form.get("next", "/"))
    resp.set_cookie(SESSION_COOKIE, ctx.auth.session_value(), httponly=True, samesite="strict",
                    max_age=180 * 86400)
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await form_of(request)
    except Refused:
        return csrf_failed(request)
    resp = back("/login")
    resp.delete_cookie(SESSION_COOKIE)
    return resp
