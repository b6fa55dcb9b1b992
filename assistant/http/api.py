"""The JSON API (documented at /openapi.json). Errors are `{"error": "..."}` with a status."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.events import Request as AssistantRequest
from assistant.http.items import (
    ItemFilter,
    NotFound,
    cancel_item,
    find_items,
    item_json,
    update_item,
)
from assistant.http.shopping import MAX_TEXT as SHOPPING_MAX
from assistant.store.db import MAX_SUBJECT, ItemConflict

router = APIRouter()
Kind = Literal["reminder", "alarm", "timer", "calendar"]
Status = Literal["pending", "fired", "snoozed", "cancelled", "missed", "any"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandIn(Strict):
    text: str = Field(max_length=4000, description="What the user said or typed")
    site: str | None = Field(None, max_length=64, pattern=r"^[^/+#\x00]+$",
                             description="The site (room) it came from; default: [http] site")


class ReplyOut(BaseModel):
    """The same object as the MQTT `{root}/{site}/reply` payload."""

    id: str | None
    ok: bool
    intent: str | None
    slots: dict[str, Any]
    speech: str
    error: str | None = None


class ItemOut(BaseModel):
    id: str
    kind: str
    subject: str | None
    label: str | None
    due: str
    fire_at: str
    recurrence: dict[str, Any] | None
    site: str
    status: str
    duration_s: int | None
    updated: float = Field(description="Version; send it back as If-Match to detect conflicts")


class ItemsOut(BaseModel):
    items: list[ItemOut]
    count: int


class ItemPatch(Strict):
    due: datetime | None = Field(None, description="New time (ISO 8601; without an offset: "
                                                   "the configured zone)")
    subject: str | None = Field(None, min_length=1, max_length=MAX_SUBJECT)
    label: str | None = Field(None, min_length=1, max_length=MAX_SUBJECT)


class ShoppingIn(Strict):
    text: str = Field(min_length=1, max_length=SHOPPING_MAX)


class ShoppingPatch(Strict):
    done: bool


class ShoppingItem(BaseModel):
    id: str
    text: str
    done: bool
    added: float


class ShoppingOut(BaseModel):
    items: list[ShoppingItem]


def ctx_of(request: Request) -> Any:
    return request.app.state.ctx


def _etag(updated: float) -> str:
    return f'"{updated:.6f}"'


@router.get("/healthz", tags=["status"], summary="Liveness (no token needed)")
def healthz(request: Request) -> dict[str, Any]:
    sched = ctx_of(request).assistant.scheduler
    return {"ok": True, "scheduler": bool(sched is None or sched.running)}


@router.get("/api/items", response_model=ItemsOut, tags=["items"],
            summary="Reminders, alarms, timers and calendar events")
def list_items(request: Request, kind: Kind | None = None, site: str | None = None,
               status: Status = "pending",
               start: Annotated[datetime | None, Query(alias="from")] = None,
               end: Annotated[datetime | None, Query(alias="to")] = None,
               q: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> Any:
    ctx = ctx_of(request)
    zone = ctx.assistant.zone
    start = start.replace(tzinfo=zone) if start and start.tzinfo is None else start
    end = end.replace(tzinfo=zone) if end and end.tzinfo is None else end
    items = find_items(ctx.assistant.store, ItemFilter(kind, site, status, start, end, q, limit))
    # Built by hand (the model above documents it): validating 1,000 items again costs ~4x.
    return JSONResponse({"items": [item_json(it) for it in items], "count": len(items)})


@router.get("/api/items/{item_id}", response_model=ItemOut, tags=["items"],
            responses={404: {"description": "No such item"}})
def get_item(request: Request, item_id: str) -> Any:
    item = ctx_of(request).assistant.store.get(item_id)
    if item is None:
        raise HTTPException(404, f"no item {item_id!r}")
    return JSONResponse(item_json(item), headers={"ETag": _etag(item.updated_ts)})


@router.delete("/api/items/{item_id}", response_model=ItemOut, tags=["items"],
               summary="Cancel an item", responses={404: {}, 409: {}})
def delete_item(request: Request, item_id: str) -> dict[str, Any]:
    try:
        return item_json(cancel_item(ctx_of(request).assistant, item_id))
    except NotFound:
        raise HTTPException(404, f"no item {item_id!r}") from None
    except ItemConflict as exc:
        raise HTTPException(409, str(exc)) from None


@router.patch("/api/items/{item_id}", response_model=ItemOut, tags=["items"],
              summary="Move and/or rename an item",
              description="Without If-Match the last write wins; with If-Match (the item's "
                          "ETag or `updated`) a concurrent change gives 412.",
              responses={404: {}, 409: {}, 412: {}, 422: {}})
def patch_item(request: Request, item_id: str, patch: ItemPatch,
               if_match: Annotated[str | None, Header()] = None) -> Any:
    if patch.due is None and patch.subject is None and patch.label is None:
        raise HTTPException(422, "nothing to change: give due, subject or label")
    expect = None
    if if_match:
        try:
            expect = float(if_match.strip('W/"'))
        except ValueError:
            raise HTTPException(422, "If-Match: expected the item's ETag") from None
    try:
        item = update_item(ctx_of(request).assistant, item_id, due=patch.due,
                           subject=patch.subject, label=patch.label, expect_updated=expect)
    except NotFound:
        raise HTTPException(404, f"no item {item_id!r}") from None
    except ItemConflict as exc:
        status = 412 if expect is not None and "changed by someone" in str(exc) else 409
        raise HTTPException(status, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return JSONResponse(item_json(item), headers={"ETag": _etag(item.updated_ts)})


@router.post("/api/command", response_model=ReplyOut, tags=["command"],
             summary="Say something to the assistant (the same pipeline as MQTT and voice)")
def command(request: Request, body: CommandIn) -> Any:
    ctx = ctx_of(request)
    site = body.site or ctx.site
    if not ctx.cfg.mqtt.accept_any_site and site not in ctx.cfg.sites():
        raise HTTPException(422, f"site {site!r} is not served here; known: "
                                 f"{', '.join(ctx.cfg.sites())}")
    reply = ctx.assistant.handle(AssistantRequest(text=body.text, site=site, source="http"))
    return JSONResponse(reply.to_json())  # byte for byte the MQTT reply object


@router.get("/api/status", tags=["status"], summary="Daemon and HTTP figures")
def status(request: Request) -> dict[str, Any]:
    ctx = ctx_of(request)
    out = dict(ctx.stats())
    day = time.time() - 86400
    out["http"] = {"requests_24h": ctx.requests.percentiles(day),
                   "commands_24h": ctx.requests.percentiles(day, "command"),
                   "event_clients": len(ctx.hub.clients), "event_clients_dropped": ctx.hub.dropped,
                   "events_published": ctx.hub.published,
                   "uptime_s": round(time.time() - ctx.started, 1)}
    return out


@router.get("/api/shopping_list", response_model=ShoppingOut, tags=["shopping list"])
def shopping_list(request: Request) -> dict[str, Any]:
    return {"items": ctx_of(request).shopping.items()}


@router.post("/api/shopping_list", response_model=ShoppingItem, status_code=201,
             tags=["shopping list"], summary="Add an item (201), or un-check one already there "
             "(200)", responses={200: {"model": ShoppingItem,
                                       "description": "The item was already on the list"}})
def shopping_add(request: Request, body: ShoppingIn) -> Any:
    ctx = ctx_of(request)
    try:
        item, new = ctx.shopping.add(body.text)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return item if new else JSONResponse(item, 200)  # already there (now not checked off)


@router.patch("/api/shopping_list/{item_id}", response_model=ShoppingItem,
              tags=["shopping list"], responses={404: {}})
def shopping_check(request: Request, item_id: str, body: ShoppingPatch) -> dict[str, Any]:
    ctx = ctx_of(request)
    item = ctx.shopping.set_done(item_id, body.done)
    if item is None:
        raise HTTPException(404, f"no shopping-list item {item_id!r}")
    return item


@router.delete("/api/shopping_list/{item_id}", tags=["shopping list"], responses={404: {}})
def shopping_remove(request: Request, item_id: str) -> dict[str, Any]:
    ctx = ctx_of(request)
    if not ctx.shopping.remove(item_id):
        raise HTTPException(404, f"no shopping-list item {item_id!r}")
    return {"ok": True}


@router.get("/api/events", tags=["events"], summary="Server-sent events",
            description="`item.added`, `item.changed`, `item.removed`, `fired` (the MQTT event "
                        "object plus `site`), `tick` (running timers, every second), "
                        "`shopping.changed` (the shopping list changed, by voice or here: "
                        "`{items, count, done}`, as on MQTT `{root}/shopping_list`); "
                        "`overflow` before a client that fell behind is dropped.",
            response_class=StreamingResponse)
async def events(request: Request) -> Any:
    hub = ctx_of(request).hub
    client = hub.subscribe()
    if client is None:
        raise HTTPException(503, "too many event-stream clients")
    return StreamingResponse(hub.stream(client), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})


@router.get("/calendar.ics", tags=["calendar"], summary="ICS feed (webcal)",
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
def calendar_ics(request: Request, token: str | None = None) -> Response:
    ctx = ctx_of(request)
    if not ctx.auth.check_feed(token):
        return JSONResponse({"error": "unauthorized"}, 401)
    body = ctx.calendar_feed(ctx.assistant.store.all_items(), datetime.now(UTC))
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="assistant.ics"'})
