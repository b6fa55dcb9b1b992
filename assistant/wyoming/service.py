"""What the daemon starts: the Wyoming server, the satellite links and discovery, on one loop.

The loop runs in its own thread, so the daemon's threads (scheduler, MQTT, microphone) never
block on network I/O, and blocking work from here (model, speech engines, store) runs on the
hub's small thread pool. The daemon hands fired events and state changes to `on_event` /
`on_change` (registered like the MQTT publisher); they are forwarded to the loop.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlparse

from assistant.config import Config
from assistant.events import Event
from assistant.wyoming.engines import Engines
from assistant.wyoming.server import Hub, Server

log = logging.getLogger("assistant.wyoming")

__all__ = ["WyomingService"]

START_TIMEOUT_S = 10.0


class WyomingService:
    def __init__(self, cfg: Config, assistant: Any, engines: Engines | None = None) -> None:
        self.cfg = cfg
        self.assistant = assistant
        self.hub = Hub.create(cfg, assistant, engines)
        self.server = Server(self.hub)
        self.satellites: list[Any] = []
        self.timers: Any = None
        self.advertiser: Any = None
        self.error: str | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wyoming",
                                        daemon=True)
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Bind the server (raises OSError if the address is taken), then serve in the background."""
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            fut.result(START_TIMEOUT_S)
        except Exception as exc:
            self.error = str(exc)
            self.stop()
            raise

    async def _start(self) -> None:
        from assistant.wyoming.satellite import SatelliteLink
        from assistant.wyoming.timers import TimerTracker

        await self.server.start()
        w = self.cfg.wyoming
        sat = bool(w.satellites)
        progs = self.hub.programs
        # Load the engines off the loop; requests arriving before wait on the engine lock.
        self._loop.run_in_executor(self.hub.pool, self.hub.engines.load,
                                   "asr" in progs or sat, "tts" in progs or sat,
                                   "wake" in progs or sat and bool(self.hub.engines.wake_phrase))
        if sat:
            self.timers = TimerTracker(self.assistant.store)
        for uri in w.satellites:
            link = SatelliteLink(self.hub, uri)
            link.timers = self.timers
            self.satellites.append(link)
            self._tasks.append(asyncio.create_task(link.run(), name=f"satellite {link.site}"))
        if w.zeroconf:
            await self._advertise()

    async def _advertise(self) -> None:
        u = urlparse(self.cfg.wyoming.uri)
        if u.scheme != "tcp" or self.server.port is None:
            log.warning("zeroconf: only TCP servers can be advertised; %s is not",
                        self.cfg.wyoming.uri)
            return
        from assistant.wyoming.discovery import Advertiser

        try:
            self.advertiser = Advertiser(self.cfg.wyoming.zeroconf_name, u.hostname or "",
                                         self.server.port)
            await self.advertiser.start()
        except Exception as exc:  # noqa: BLE001 - no multicast, no interface: keep serving
            log.error("zeroconf advertisement failed (%s); HA can still add the server by "
                      "host and port", exc)
            self.advertiser = None

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        except Exception:
            log.exception("stopping the wyoming service")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self.hub.pool.shutdown(wait=False, cancel_futures=True)

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.advertiser is not None:
            try:
                await self.advertiser.stop()
            except Exception:
                log.debug("zeroconf stop failed", exc_info=True)
        await self.server.stop()

    # -- from the daemon (any thread) ------------------------------------------------------
    def _submit(self, coro: Any) -> Future | None:
        if not self._thread.is_alive():
            coro.close()
            return None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def on_event(self, event: Event) -> None:
        """A fired reminder/alarm/timer/calendar item: speak it on the satellites of its site."""
        links = [s for s in self.satellites if s.site == event.site]
        if not links:
            return
        timer_event = None
        if event.type == "timer.done" and self.timers is not None:
            timer_event = self.timers.finished(event.id)
        self._submit(self._fan_out(links, timer_event, event.speech))

    def on_change(self) -> None:
        """The store changed: timer events for the satellites of the timers' sites."""
        if self.timers is None:
            return
        for site, ev in self.timers.changes():
            links = [s for s in self.satellites if s.site == site]
            if links:
                self._submit(self._fan_out(links, ev, ""))

    async def _fan_out(self, links: list[Any], event: Any, speech: str) -> None:
        for link in links:
            if event is not None:
                await link.notify(event)
            if speech:
                await link.announce(speech)

    # -- inspection ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        lat = sorted(self.hub.handled_ms)
        replies = sorted(x for s in self.satellites for x in s.reply_ms)
        return {
            "uri": self.cfg.wyoming.uri,
            "port": self.server.port,
            "programs": self.hub.programs,
            "clients": len(self.server.sessions),
            "connections": self.server.served,
            "handled": len(lat),
            "handled_ms_p50": round(statistics.median(lat), 2) if lat else None,
            "satellite_reply_ms_p50": round(statistics.median(replies), 1) if replies else None,
            "satellites": [s.status() for s in self.satellites],
            "zeroconf": self.advertiser is not None,
        }


def status_lines(st: dict[str, Any]) -> list[str]:
    """The `assistant status` lines for the Wyoming part of the daemon's status.json."""
    programs = ", ".join(st.get("programs") or []) or "no programs"
    first = (f"wyoming: listening on {st.get('uri')} ({programs}), {st.get('clients', 0)} "
             f"clients now, {st.get('handled', 0)} transcripts handled")
    out = [first]
    for s in st.get("satellites", []):
        state = "available" if s.get("available") else (
            f"unavailable: {s.get('last_error') or 'not connected yet'}"
            + (f" (retry in {s['retry_in_s']:.0f} s)" if s.get("retry_in_s") is not None else ""))
        out.append(f"  satellite {s.get('site')} {s.get('uri')}: {state}")
    return out
