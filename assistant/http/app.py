"""The FastAPI application: one context object, the guard, the routers, the static files.

Why FastAPI (on Starlette) with uvicorn: the request and response models that validate
the JSON API are the same ones its OpenAPI document is generated from, so the contract
cannot drift from the code; Starlette underneath gives streaming (server-sent events),
static files without directory listing and Jinja2 templates; uvicorn runs it in a
thread of the daemon with an asyncio loop of its own.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.config import Config
from assistant.http.events import EventHub
from assistant.http.ics import build_calendar
from assistant.http.items import item_json
from assistant.http.metrics import RequestLog
from assistant.http.security import Auth, Guard, RateLimiter
from assistant.http.shopping import ShoppingList

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
API_VERSION = "1"


@dataclass
class HttpContext:
    """Everything a route needs; one per server."""

    cfg: Config
    assistant: Any  # assistant.pipeline.Assistant
    auth: Auth
    hub: EventHub
    shopping: ShoppingList
    requests: RequestLog
    stats: Callable[[], dict[str, Any]]
    started: float = field(default_factory=time.time)
    # Recent exchanges of the page's text box, per browser (bounded), for follow-ups.
    conversations: OrderedDict[str, list[dict[str, Any]]] = field(default_factory=OrderedDict)

    _feed: tuple[Any, bytes] | None = None

    def calendar_feed(self, items: list[Any], now: Any) -> bytes:
        """The ICS body, rebuilt only when an item changed (or the day did)."""
        key = (len(items), max((it.updated_ts for it in items), default=0.0), now.date())
        if self._feed is None or self._feed[0] != key:
            self._feed = (key, build_calendar(items, now))
        return self._feed[1]

    @property
    def site(self) -> str:
        return self.cfg.http.site or self.cfg.mqtt.site

    def remember(self, key: str, exchange: dict[str, Any]) -> None:
        log_ = self.conversations.pop(key, [])
        log_.append(exchange)
        self.conversations[key] = log_[-6:]
        while len(self.conversations) > 256:
            self.conversations.popitem(last=False)


def create_app(ctx: HttpContext) -> Any:
    """The ASGI app: the Guard wrapping FastAPI."""
    from assistant.http import api, pages

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.hub.start()
        yield
        await ctx.hub.stop()

    app = FastAPI(title="assistant household API", version=API_VERSION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # Swagger UI would load from a CDN
                  description="Reminders, alarms, timers, calendar and shopping list of the "
                              "offline assistant. Authenticate with `Authorization: Bearer "
                              "<token>` when a token is configured.")
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static", html=False), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "malformed JSON in the request body"}, 400)
        if any(e.get("type") == "model_attributes_type" and tuple(e.get("loc", ())) == ("body",)
               for e in errors):
            return JSONResponse({"error": "expected a JSON object in the body, sent with "
                                          "Content-Type: application/json"}, 422)
        parts = []
        for e in errors[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            msg = "unknown field" if e.get("type") == "extra_forbidden" else e.get("msg", "")
            parts.append(f"{where}: {msg}" if where else msg)
        return JSONResponse({"error": "; ".join(parts)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if request.url.path.startswith("/api/") or exc.status_code != 404:
            return JSONResponse({"error": str(exc.detail)}, exc.status_code,
                                headers=getattr(exc, "headers", None))
        return pages.not_found(request)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The token from $ASSISTANT_HTTP_TOKEN or "
                                          "[http] token_file (when one is configured)"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    h = ctx.cfg.http
    return Guard(app, ctx.auth, RateLimiter(h.rate_limit_per_s, h.rate_burst), h.max_body_bytes,
                 ctx.requests)


def make_context(cfg: Config, assistant: Any, token: str | None,
                 stats: Callable[[], dict[str, Any]] | None = None) -> HttpContext:
    hub = EventHub(assistant.store, item_json, buffer=cfg.http.event_buffer,
                   max_clients=cfg.http.max_event_clients)
    return HttpContext(cfg=cfg, assistant=assistant, auth=Auth(token), hub=hub,
                       shopping=ShoppingList(assistant), requests=RequestLog(),
                       stats=stats or assistant.stats)
