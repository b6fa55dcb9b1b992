"""Who may use the server and how much: token, login cookie, CSRF, limits, headers.

One guard (a plain ASGI middleware) runs before every route, so no route can forget a
check: host check against DNS rebinding, per-client rate limit, body size limit, token
(bearer header or login cookie; pages redirect to /login), cross-origin refusal of
unsafe methods, and the security headers on every answer. Form posts also carry a CSRF
token (signed double-submit cookie) that `check_csrf` verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from assistant.config import Config, ConfigError
from assistant.http.metrics import RequestLog, group_of

log = logging.getLogger(__name__)

SESSION_COOKIE = "assistant_session"
CSRF_COOKIE = "assistant_csrf"
PUBLIC_PATHS = ("/healthz", "/login", "/calendar.ics")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def load_token(cfg: Config) -> str | None:
    """The access token from the environment or [http] token_file, never from the TOML."""
    h = cfg.http
    if h.token_env and os.environ.get(h.token_env, "").strip():
        return os.environ[h.token_env].strip()
    if h.token_file:
        path = cfg.resolve_path(h.token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{cfg.source}: [http] token_file: cannot read {path}: "
                              f"{exc.strerror}") from exc
        if not token:
            raise ConfigError(f"{cfg.source}: [http] token_file: {path} is empty")
        return token
    return None


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(cfg: Config, token: str | None) -> tuple[str, int]:
    """Where to listen; refuses anything beyond loopback when no token is configured."""
    host, port = split_listen(cfg.http.listen)
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"[http] listen = {cfg.http.listen!r} reaches beyond this machine but no access "
            f"token is set: set ${cfg.http.token_env} or [http] token_file, or listen on "
            "127.0.0.1")
    if token is not None and len(token) < 16:
        raise ConfigError("the HTTP access token is shorter than 16 characters; use e.g. "
                          "`openssl rand -hex 24`")
    return host, port


class Auth:
    """The token and what is derived from it (login cookie, feed token, CSRF tokens)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        # Derived secrets survive a restart when a token is set (open pages keep working).
        base = token.encode() if token else secrets.token_bytes(32)
        self._key = hashlib.sha256(b"assistant-http:" + base).digest()

    @property
    def required(self) -> bool:
        return self.token is not None

    def _mac(self, what: str) -> str:
        return hmac.new(self._key, what.encode(), hashlib.sha256).hexdigest()

    def session_value(self) -> str:
        return self._mac("session")

    def feed_token(self) -> str:
        """A read-only token for the ICS URL, so a calendar app never holds the main token."""
        return self._mac("calendar-feed")[:32]

    def check_bearer(self, header: str | None) -> bool:
        if not self.token or not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())

    def check_login(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.strip().encode(),
                                                        self.token.encode())

    def check_session(self, cookie: str | None) -> bool:
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session_value().encode())

    def check_feed(self, given: str | None) -> bool:
        if not self.required:
            return True
        return bool(given) and hmac.compare_digest(given.encode(), self.feed_token().encode())

    def csrf_for(self, cookie: str) -> str:
        return self._mac("csrf:" + cookie)

    def check_csrf(self, cookie: str | None, given: str | None) -> bool:
        return bool(cookie and given) and hmac.compare_digest(
            given.encode(), self.csrf_for(cookie).encode())


class RateLimiter:
    """A token bucket per client address (bounded: the least recently seen are forgotten)."""

    def __init__(self, per_s: float, burst: int, max_clients: int = 4096) -> None:
        self.per_s, self.burst, self.max_clients = per_s, burst, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_s)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.per_s
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


class Guard:
    """The ASGI middleware in front of every route (see the module docstring)."""

    def __init__(self, app: ASGIApp, auth: Auth, limiter: RateLimiter, max_body: int,
                 requests: RequestLog) -> None:
        self.app, self.auth, self.limiter = app, auth, limiter
        self.max_body, self.requests = max_body, requests

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method: str = scope["method"]

        async def send_secure(message: dict) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        refusal = self._refusal(scope, path, method, headers)
        if refusal is not None:
            status, body, extra = refusal
            await _answer(send_secure, status, body, extra)
        else:
            length = headers.get("content-length", "")
            body = b""
            if length.isdigit() and int(length) > self.max_body:
                body = None
            elif method not in ("GET", "HEAD"):
                body = await self._read_body(receive)
            if body is None:
                await _answer(send_secure, 413, _error(
                    f"request body over {self.max_body} bytes"), [])
            else:
                await self.app(scope, _replay(body, receive), send_secure)
        if path != "/api/events":
            self.requests.add(group_of(path), (time.perf_counter() - t0) * 1000)

    async def _read_body(self, receive: Any) -> bytes | None:
        """The whole body (small by design), or None as soon as it passes the limit."""
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    def _refusal(self, scope: dict, path: str, method: str,
                 headers: dict[str, str]) -> tuple[int, bytes, list] | None:
        host = headers.get("host", "")
        if not self.auth.required and urlsplit("//" + host).hostname not in LOOPBACK_NAMES:
            # Without a token we only serve loopback; a foreign Host is DNS rebinding.
            return 421, _error("this server answers only to localhost"), []
        client = (scope.get("client") or ("?", 0))[0]
        if path != "/healthz" and not path.startswith("/static/"):
            wait = self.limiter.allow(client)
            if wait:
                return 429, _error("too many requests; slow down"), [
                    (b"retry-after", str(max(1, round(wait))).encode())]
        if method not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if origin and origin != "null" and urlsplit(origin).netloc != host:
                return 403, _error("cross-origin request refused"), []
        if not self.auth.required or path in PUBLIC_PATHS or path.startswith("/static/"):
            return None
        if self.auth.check_bearer(headers.get("authorization")):
            return None
        if self.auth.check_session(_cookie(headers.get("cookie", ""), SESSION_COOKIE)):
            return None
        if path.startswith("/api/") or path == "/openapi.json" or method != "GET":
            return 401, _error("unauthorized"), [(b"www-authenticate", b"Bearer")]
        target = path + ("?" + scope["query_string"].decode() if scope.get("query_string") else "")
        return 303, b"", [(b"location", ("/login?next=" + quote(target, safe="")).encode())]


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


async def _answer(send: Any, status: int, body: bytes, extra: list) -> None:
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
