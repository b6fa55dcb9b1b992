"""The server-sent event stream: item changes, fired events and timer ticks.

Producers run on other threads (the scheduler fires, the pipeline changes things), so
they only hand a message to the event loop; the loop fans it out to one bounded queue
per client. A client whose queue fills up (it stopped reading) is dropped instead of
growing memory; its browser reconnects and starts from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.events import Event
from assistant.store.db import Item, Store
from assistant.store.lists import SHOPPING_TOPIC

log = logging.getLogger(__name__)

TICK_S = 1.0
KEEPALIVE_S = 15.0


@dataclass
class Client:
    queue: asyncio.Queue[tuple[int, str, str] | None]
    dropped: bool = False


@dataclass
class EventHub:
    store: Store
    item_json: Callable[[Item], dict[str, Any]]
    buffer: int = 200
    max_clients: int = 16
    clients: list[Client] = field(default_factory=list)
    dropped: int = 0
    published: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _snapshot: dict[str, float] = field(default_factory=dict)
    _dirty: bool = True
    _seen_ts: float = 0.0
    _task: asyncio.Task | None = None

    # -- lifecycle (on the server's loop) ---------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        self.end_streams()
        if self._task:
            self._task.cancel()

    def end_streams(self) -> None:
        """Finish every open stream (at shutdown, so no connection holds the server up)."""
        for c in list(self.clients):
            if c.queue.full():
                c.dropped = True
            else:
                c.queue.put_nowait(None)
        self.clients.clear()

    def end_streams_threadsafe(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.end_streams)

    # -- producers (any thread) -------------------------------------------------------
    def on_fire(self, event: Event) -> None:
        self.publish_threadsafe("fired", {**event.to_json(), "site": event.site})

    def on_change(self) -> None:
        self._dirty = True

    def on_state(self, subtopic: str, payload: Any) -> None:
        """A skill's retained state: the shopping list, changed by voice or by the page."""
        if subtopic == SHOPPING_TOPIC:
            self.publish_threadsafe("shopping.changed", payload)

    def publish_threadsafe(self, kind: str, data: dict[str, Any]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.publish, kind, data)

    # -- fan-out (loop thread) --------------------------------------------------------
    def publish(self, kind: str, data: dict[str, Any]) -> None:
        msg = (next(self._ids), kind, json.dumps(data))
        self.published += 1
        for c in list(self.clients):
            if c.queue.full():
                self._drop(c)
            else:
                c.queue.put_nowait(msg)

    def _drop(self, c: Client) -> None:
        c.dropped = True
        self.dropped += 1
        if c in self.clients:
            self.clients.remove(c)
        log.warning("event-stream client dropped: it stopped reading (%d events queued)",
                    c.queue.qsize())

    def subscribe(self) -> Client | None:
        if len(self.clients) >= self.max_clients:
            return None
        if not self.clients:
            # Nobody watched, so the snapshot is stale: start the diffs from now.
            self._snapshot = self._pending_versions()
            self._seen_ts = time.time()
            self._dirty = False
        c = Client(asyncio.Queue(maxsize=self.buffer))
        self.clients.append(c)
        return c

    def unsubscribe(self, c: Client) -> None:
        if c in self.clients:
            self.clients.remove(c)

    async def stream(self, c: Client) -> AsyncIterator[str]:
        """SSE text for one client until it disconnects or falls behind."""
        try:
            yield f"retry: 3000\n: {len(self.clients)} clients\n\n"
            while not c.dropped:
                try:
                    msg = await asyncio.wait_for(c.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if msg is None:
                    return
                eid, kind, data = msg
                yield f"id: {eid}\nevent: {kind}\ndata: {data}\n\n"
            yield "event: overflow\ndata: {}\n\n"
        finally:
            self.unsubscribe(c)

    # -- periodic work ----------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._tick()
            except Exception:
                log.exception("event stream update failed; retrying")

    async def _tick(self) -> None:
        if not self.clients:
            return
        # Changes made by another process (the CLI) show as a newer updated_ts.
        if self._dirty or await asyncio.to_thread(self.store.changed_since, self._seen_ts):
            self._dirty = False
            self._seen_ts = time.time()
            await self._diff()
        timers = await asyncio.to_thread(self.store.pending, "timer")
        if timers:
            now = time.time()
            self.publish("tick", {"now": round(now, 3), "timers": [
                {"id": t.id, "label": t.label, "remaining_s": round(max(0.0, t.due_ts - now), 1)}
                for t in timers]})

    def _pending_versions(self) -> dict[str, float]:
        return {it.id: it.updated_ts for it in self.store.pending()}

    async def _diff(self) -> None:
        items = {it.id: it for it in await asyncio.to_thread(self.store.pending)}
        old, self._snapshot = self._snapshot, {i: it.updated_ts for i, it in items.items()}
        for item_id, it in items.items():
            if item_id not in old:
                self.publish("item.added", self.item_json(it))
            elif old[item_id] != it.updated_ts:
                self.publish("item.changed", self.item_json(it))
        for item_id in old.keys() - items.keys():
            gone = await asyncio.to_thread(self.store.get, item_id)
            self.publish("item.removed", {"id": item_id,
                                          "status": gone.status if gone else "deleted"})
