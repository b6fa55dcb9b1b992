"""Fires items on time. SQLite is the truth; APScheduler only holds wake-ups.

APScheduler (3.x, in memory) holds a single DateTrigger "wake-up", at the earliest pending
fire time (read from the store's index, rounded up to 10 ms), not one job per item: 100,000
pending reminders cost one job and one indexed query to restore. Each wake-up takes *every*
due item from the store in one transaction (`Store.claim_due`, in chunks), then arms the
next wake-up. So the job store never needs persisting, the CLI can change the database
under a running daemon (a periodic sweep notices and re-arms), and an item is fired exactly
once even if a wake-up runs twice: its status and its event (the outbox row built by
`record`) change in the same transaction.

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
RecordCallback = Callable[[Item, float, float], "dict | None"]  # the event for the outbox
SWEEP_S = 15.0
CLAIM_CHUNK = 2000  # items per firing transaction: bounds memory and lock time


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
                 clock: Callable[[], float] = time.time, record: RecordCallback | None = None,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.on_fire = on_fire
        self.record = record
        self.on_batch = on_batch
        self._armed: float | None = None
        self._arm_lock = threading.Lock()
        self._stopping = False
        self._wake_id: str | None = None
        self._wake_seq = 0
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
        # A shared store (several daemons) sweeps more often: others add items, and a dead
        # daemon's due items must be fired by the living soon.
        sweep_s = getattr(self.store, "sweep_s", SWEEP_S)
        self._aps.add_job(self._sweep, "interval", seconds=sweep_s, id="sweep")
        self._aps.start()
        self.running = True
        return {"missed": len(missed), "late": len(late), "scheduled": scheduled}

    def stop(self) -> None:
        # No wake-up may be added from here on: APScheduler's shutdown(wait=True) holds its
        # job-store lock while it waits for running jobs, and a job adding a wake-up would
        # wait for that lock for ever.
        with self._arm_lock:
            self._stopping = True
        if self.running:
            self._aps.shutdown(wait=True)
            self.running = False

    # -- scheduling -------------------------------------------------------------------
    def rebuild(self) -> int:
        """Arm the wake-up from the store again; returns the number of pending items."""
        with self._arm_lock:
            self._armed = None
        self._seen_change = self.clock()
        self._arm()
        return int(self.store.pending_summary()["total"])

    def schedule(self, item: Item) -> None:
        """A new or moved item: wake earlier if it is due before the armed wake-up."""
        self._arm(self._bucket(item.fire_ts))

    @staticmethod
    def _bucket(ts: float) -> float:
        return math.ceil(ts * 100) / 100

    def _arm(self, candidate: float | None = None, not_before: float | None = None) -> None:
        """Keep exactly one wake-up, at the earliest pending fire time."""
        if candidate is None:
            try:
                nxt = self.store.next_fire_ts()
            except StoreError as exc:
                log.error("cannot read the next due item: %s", exc)
                return
            if nxt is None:
                return
            candidate = self._bucket(nxt)
            if not_before is not None:
                candidate = max(candidate, not_before)
            force = True
        else:
            force = False
        with self._arm_lock:
            if self._stopping:
                return
            if not force and self._armed is not None and self._armed <= candidate:
                return
            self._armed = candidate
            # A new id for every wake-up, and never a removal of ours: APScheduler removes a
            # date job once it ran (and its thread dies if the job is gone by then). A wake-up
            # replaced by an earlier one still runs: it only looks for due items.
            self._wake_seq += 1
            self._wake_id = f"wake-{self._wake_seq}"
            run_at = datetime.fromtimestamp(candidate, UTC)
            self._aps.add_job(self._wake, DateTrigger(run_date=run_at), args=[self._wake_id],
                              id=self._wake_id)

    def _wake(self, wake_id: str) -> None:
        with self._arm_lock:
            current = wake_id == self._wake_id
            if current:
                self._armed = None
        claimed = self.process_due()
        if current:  # only the armed wake-up re-arms: replaced ones must not multiply
            # One that found nothing due (an injected clock behind the wall clock, an item
            # cancelled meanwhile) must not re-arm in the past and spin.
            self._arm(not_before=None if claimed else time.time() + 0.2)

    def next_wakeup(self) -> datetime | None:
        job = self._aps.get_job(self._wake_id) if self._wake_id else None
        return getattr(job, "next_run_time", None) if job is not None else None

    # -- firing -----------------------------------------------------------------------
    def process_due(self, now_ts: float | None = None) -> list[tuple[Item, float]]:
        """Fire every item that is due at `now_ts` (the clock by default)."""
        with self._fire_lock:
            now = self.clock() if now_ts is None else now_ts
            claimed: list[tuple[Item, float]] = []
            while True:
                try:
                    chunk = self.store.claim_due(now, lambda it: advance(it, now),
                                                 record=self.record, limit=CLAIM_CHUNK)
                except StoreError as exc:
                    log.error("cannot fire due items: %s", exc)
                    break
                for item, late in chunk:
                    self.lateness.append(late)
                    try:
                        self.on_fire(item, late, now)
                    except Exception:
                        log.exception("announcing %s %s (%r) failed", item.kind, item.id,
                                      item.subject)
                claimed.extend(chunk)
                if len(chunk) < CLAIM_CHUNK:
                    break
            if claimed and self.on_batch is not None:
                try:
                    self.on_batch(len(claimed))
                except Exception:
                    log.exception("after-fire hook failed")
        return claimed

    def _sweep(self) -> None:
        """Safety net: fire anything overdue and pick up changes made by the CLI."""
        try:
            if self.store.changed_since(self._seen_change):
                self.rebuild()
            self.process_due()
            self._arm(not_before=time.time() + 0.2)
        except Exception:
            log.exception("scheduler sweep failed; retrying in %.0f s", SWEEP_S)
