"""Runs the web server in a thread of the daemon, started and stopped with it.

uvicorn serves on its own asyncio loop in one thread; the pipeline's blocking calls run
in its thread pool. Start fails loudly (logged, daemon keeps serving its other
interfaces) when the address is taken or when a non-loopback address has no token.
On SIGHUP the daemon calls `reload_http`: a changed [http] section or token restarts the
server, `enabled = false` stops it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from assistant.config import Config, ConfigError
from assistant.http.security import check_bind, load_token

log = logging.getLogger(__name__)


class HttpService:
    def __init__(self, cfg: Config, assistant: Any, token: str | None,
                 stats: Callable[[], dict[str, Any]] | None = None) -> None:
        import uvicorn  # imported only when [http] is enabled: the daemon starts faster without

        from assistant.http.app import create_app, make_context

        self.cfg, self.token = cfg, token
        self.host, self.port = check_bind(cfg, token)
        self.ctx = make_context(cfg, assistant, token, stats)
        self._listeners = (self.ctx.hub.on_fire, self.ctx.hub.on_change, self.ctx.hub.on_state)
        assistant.listeners.append(self.ctx.hub.on_fire)
        assistant.change_listeners.append(self.ctx.hub.on_change)
        assistant.add_state_listener(self.ctx.hub.on_state)  # the shopping list, both sides
        self.server = uvicorn.Server(uvicorn.Config(
            create_app(self.ctx), host=self.host, port=self.port, log_config=None, log_level="warning",
            access_log=False, lifespan="on", timeout_graceful_shutdown=2,
            h11_max_incomplete_event_size=16384, server_header=False))
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.thread = threading.Thread(target=self._run, name="http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                self._detach()
                raise OSError(f"the web server could not listen on {self.cfg.http.listen} "
                              "(address in use or not available); see the log above")
            if time.monotonic() > deadline:
                raise OSError(f"the web server did not start within {timeout:.0f} s")
            time.sleep(0.02)
        log.info("web page and API on %s (%s)", self.url,
                 "token required" if self.token else "loopback only, no token")

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits this way when it cannot bind
            log.error("web server on %s stopped: cannot bind", self.cfg.http.listen)
        except Exception:
            log.exception("web server on %s failed", self.cfg.http.listen)

    def stop(self) -> None:
        self.ctx.hub.end_streams_threadsafe()
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(5)
        self._detach()

    def _detach(self) -> None:
        a = self.ctx.assistant
        for lst, fn in ((a.listeners, self._listeners[0]), (a.change_listeners, self._listeners[1]),
                        (a.state_listeners, self._listeners[2])):
            if fn in lst:
                lst.remove(fn)


def start_http(cfg: Config, assistant: Any,
               stats: Callable[[], dict[str, Any]] | None = None) -> HttpService | None:
    """The running server, or None when disabled or refused (the reason is logged)."""
    if not cfg.http.enabled:
        return None
    try:
        service = HttpService(cfg, assistant, load_token(cfg), stats)
        service.start()
        return service
    except (ConfigError, OSError, sqlite3.Error) as exc:
        log.error("web page and API not started: %s", exc)
        return None


def reload_http(service: HttpService | None, cfg: Config, assistant: Any,
                stats: Callable[[], dict[str, Any]] | None = None) -> HttpService | None:
    """Apply a reloaded config: restart only when [http] or the token changed."""
    try:
        token = load_token(cfg) if cfg.http.enabled else None
    except ConfigError as exc:
        log.error("[http] not reloaded: %s", exc)
        return service
    if service is not None and service.cfg.http == cfg.http and service.token == token:
        service.cfg = service.ctx.cfg = cfg
        return service
    if service is not None:
        service.stop()
    return start_http(cfg, assistant, stats)
