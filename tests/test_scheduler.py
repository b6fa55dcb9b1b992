"""Scheduler on a real SQLite file with an injected clock: DST, exactly-once, late and missed."""

from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.scheduling.scheduler import Scheduler
from assistant.store.db import Item, Store
from tests.fixtures.clock import Clock

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def daily(zone: ZoneInfo, start: datetime, hour: int = 7) -> Item:
    first = start.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=zone)
    return Item(kind="alarm", due_ts=first.timestamp(), zone=zone.key, label="wake up",
                rrule=f"FREQ=DAILY;BYHOUR={hour};BYMINUTE=0",
                dtstart_local=first.replace(tzinfo=None).isoformat())


def fire_sequence(tmp_path, zone, start, days):
    store = Store(tmp_path / "s.db")
    store.add(daily(zone, start))
    fired = []
    clock = Clock(start)
    sched = Scheduler(store, lambda it, late, ts: fired.append((it.due, late)), 3600, clock)
    for _ in range(days):
        nxt = store.pending()[0].due
        clock.set(nxt)
        sched.process_due()
    return [d.astimezone(zone) for d, _ in fired]


def test_daily_alarm_keeps_7am_across_spring_forward_berlin(tmp_path):
    fired = fire_sequence(tmp_path, BERLIN, datetime(2026, 3, 27, 6, 0), 4)
    assert [d.strftime("%m-%d %H:%M %z") for d in fired] == [
        "03-27 07:00 +0100", "03-28 07:00 +0100", "03-29 07:00 +0200", "03-30 07:00 +0200"]


def test_daily_alarm_keeps_7am_across_fall_back_new_york(tmp_path):
    fired = fire_sequence(tmp_path, NY, datetime(2026, 10, 31, 6, 0), 3)
    assert [d.strftime("%m-%d %H:%M %z") for d in fired] == [
        "10-31 07:00 -0400", "11-01 07:00 -0500", "11-02 07:00 -0500"]


def test_fired_item_is_not_fired_again_after_restart(tmp_path):
    path = tmp_path / "s.db"
    store = Store(path)
    now = datetime(2026, 5, 1, 12, 0, tzinfo=BERLIN)
    it = store.add(Item(kind="reminder", due_ts=now.timestamp() - 30, zone="Europe/Berlin",
                        subject="call mom"))
    fired = []
    clock = Clock(now)
    Scheduler(store, lambda i, late, ts: fired.append((i.id, late)), 3600, clock).process_due()
    store.close()
    # "restart": a new store and scheduler on the same file
    store2 = Store(path)
    again = []
    s2 = Scheduler(store2, lambda i, late, ts: again.append(i.id), 3600, clock)
    s2.process_due()
    assert fired == [(it.id, 30.0)] and again == []
    assert store2.get(it.id).status == "fired"


def test_start_fires_recent_overdue_late_and_marks_old_missed(tmp_path):
    store = Store(tmp_path / "s.db")
    now = datetime(2030, 5, 1, 12, 0, tzinfo=BERLIN)  # future: real wake-ups stay pending
    recent = store.add(Item(kind="reminder", due_ts=now.timestamp() - 600, zone="Europe/Berlin",
                            subject="recent"))
    old = store.add(Item(kind="reminder", due_ts=now.timestamp() - 86400, zone="Europe/Berlin",
                         subject="old"))
    future = store.add(Item(kind="timer", due_ts=now.timestamp() + 600, zone="Europe/Berlin"))
    fired = []
    sched = Scheduler(store, lambda i, late, ts: fired.append((i.id, late)), 3600, Clock(now))
    counts = sched.start()
    try:
        assert counts == {"missed": 1, "late": 1, "scheduled": 1}
        assert fired == [(recent.id, 600.0)]
        assert store.get(old.id).status == "missed"
        assert store.get(future.id).status == "pending"
        assert sched.next_wakeup() is not None
    finally:
        sched.stop()


def test_calendar_notice_fires_before_the_event(tmp_path):
    store = Store(tmp_path / "s.db")
    start = datetime(2026, 6, 1, 15, 0, tzinfo=BERLIN)
    ev = store.add(Item(kind="calendar", due_ts=start.timestamp(), notice_s=900,
                        zone="Europe/Berlin", subject="dentist"))
    fired = []
    clock = Clock(datetime(2026, 6, 1, 14, 44, tzinfo=BERLIN))
    sched = Scheduler(store, lambda i, late, ts: fired.append(i.id), 3600, clock)
    sched.process_due()
    assert fired == []
    clock.set(datetime(2026, 6, 1, 14, 45, tzinfo=BERLIN))
    sched.process_due()
    assert fired == [ev.id]
