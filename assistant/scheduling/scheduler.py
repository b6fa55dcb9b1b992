"""Fires items on time. SQLite is the truth; APScheduler only holds wake-ups.

APScheduler (3.x, in memory) gets one DateTrigger "wake-up" per 10 ms bucket of fire
times, not one job per item: a thousand reminders due in the same minute cost a handful
of wake-ups, and each wake-up takes *every* due item from the store in one transaction
(`Store.claim_due`). So the job store never needs persisting, the CLI can change the
database under a running daemon (a periodic sweep notices and rebuilds), and an item is
fired at most once even if a wake-up runs twice.

At start: items overdue by more than `missed_after_s` are marked missed (a recurring one
moves on to its next occurrence); the rest fire once, at once, with their lateness.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from assistant.store.db import Item, Store, StoreError
from assistant.timeparse import next_occurrence

log = logging.getLogger(__name__)

FireCallback = Callable[[Item, float, float], None]  # item, late_s, fired_ts
SWEEP_S = 15.0


def advance(item: Item, now_ts: float) -> tuple[float, float] | None:
    """Next (due_ts, fire_ts) of a recurring item strictly after both its due time and now."""
    if not item.rrule or not item.dtstart_local:
        return None
    tz = item.tz
    dtstart = datetime.fromisoformat(item.dtstart_local).replace(tzinfo=tz)
    after = datetime.fromtimestamp(max(item.due_ts, now_ts), tz)
    nxt = next_occurrence(item.rrule, dtstart, after)
    if nxt is None:
        return None
    due_ts = nxt.timestamp()
    return due_ts, due_ts - (item.notice_s or 0)


class Scheduler:
    def __init__(self, store: Store, on_fire: FireCallback, missed_after_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.on_fire = on_fire
        self.missed_after_s = missed_after_s
        self.clock = clock
        self._aps = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 3},
        )
        self._fire_lock = threading.Lock()
        self._seen_change = 0.0
        self.lateness: deque[float] = deque(maxlen=1000)
        self.running = False

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> dict[str, int]:
        """Restore from the store: returns counts of missed, late-fired and scheduled items."""
        now = self.clock()
        missed = self.store.mark_missed(now, self.missed_after_s, lambda it: advance(it, now))
        for item in missed:
            log.warning("missed %s %s (%r) due %s: the daemon was down for longer than "
                        "[scheduler] missed_after_s", item.kind, item.id, item.subject,
                        item.due.isoformat(timespec="seconds"))
        late = self.process_due()
        scheduled = self.rebuild()
        self._aps.add_job(self._sweep, "interval", seconds=SWEEP_S, id="sweep")
        self._aps.start()
        self.running = True
        return {"missed": len(missed), "late": len(late), "scheduled": scheduled}

    def stop(self) -> None:
        if self.running:
            self._aps.shutdown(wait=True)
            self.running = False

    # -- scheduling -------------------------------------------------------------------
    def rebuild(self) -> int:
        """Drop every wake-up and add them again from the store."""
        for job in self._aps.get_jobs():
            if job.id.startswith("wake-"):
                job.remove()
        pending = self.store.pending()
        for ts in {self._bucket(it.fire_ts) for it in pending}:
            self._add_wakeup(ts)
        self._seen_change = self.clock()
        return len(pending)

    def schedule(self, item: Item) -> None:
        self._add_wakeup(self._bucket(item.fire_ts))

    @staticmethod
    def _bucket(ts: float) -> float:
        return math.ceil(ts * 100) / 100

    def _add_wakeup(self, ts: float) -> None:
        run_at = datetime.fromtimestamp(ts, UTC)
        self._aps.add_job(self.process_due, DateTrigger(run_date=run_at), id=f"wake-{ts:.2f}",
                          replace_existing=True)

    def next_wakeup(self) -> datetime | None:
        times = [j.next_run_time for j in self._aps.get_jobs()
                 if j.id.startswith("wake-") and j.next_run_time]
        return min(times) if times else None

    # -- firing -----------------------------------------------------------------------
    def process_due(self, now_ts: float | None = None) -> list[tuple[Item, float]]:
        """Fire every item that is due at `now_ts` (the clock by default)."""
        with self._fire_lock:
            now = self.clock() if now_ts is None else now_ts
            try:
                claimed = self.store.claim_due(now, lambda it: advance(it, now))
            except StoreError as exc:
                log.error("cannot fire due items: %s", exc)
                return []
            for item, late in claimed:
                self.lateness.append(late)
                try:
                    self.on_fire(item, late, now)
                except Exception:
                    log.exception("announcing %s %s (%r) failed", item.kind, item.id, item.subject)
                if item.rrule:
                    nxt = self.store.get(item.id)
                    if nxt and nxt.status == "pending":
                        self.schedule(nxt)
            return claimed

    def _sweep(self) -> None:
        """Safety net: fire anything overdue and pick up changes made by the CLI."""
        try:
            if self.store.changed_since(self._seen_change):
                self.rebuild()
            self.process_due()
        except Exception:
            log.exception("scheduler sweep failed; retrying in %.0f s", SWEEP_S)
