"""Skills through the real pipeline (real model, real SQLite file), as conversations."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.pipeline import Assistant
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import write_config

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def parser(tmp_path_factory):
    from assistant.nlu.parser import Parser

    folder = tmp_path_factory.mktemp("parser")
    return Parser(config.load(write_config(folder)))


@pytest.fixture
def make(tmp_path, parser):
    made = []

    def make(now=datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN), **sections):
        cfg = config.load(write_config(tmp_path, **sections))
        clock = Clock(now)
        a = Assistant(cfg, parser=parser, schedule=True, clock=clock)
        a.clock_ctl = clock
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def say(a, text, site="default"):
    return a.handle(Request(text=text, site=site))


def test_reminder_create_list_cancel(make):
    a = make()
    r = say(a, "remind me to water the plants at 6 pm")
    assert r.ok and r.intent == "reminder.create"
    assert r.speech == "OK, I'll remind you to water the plants this evening at 6 PM."
    r = say(a, "remind me to call my mom tomorrow at 5 pm")
    assert r.speech == "OK, I'll remind you to call your mom tomorrow at 5 PM."
    r = say(a, "what are my reminders")
    assert r.ok and "2 reminders" in r.speech and "water the plants" in r.speech
    r = say(a, "cancel the reminder to call my mom")
    assert r.ok and "call your mom" in r.speech
    assert [it.subject for it in a.store.pending()] == ["water the plants"]


def test_missing_time_is_asked_for(make):
    a = make()
    r = say(a, "remind me to take out the trash")
    assert r.ok and r.speech == "When should I remind you?"
    r = say(a, "tomorrow at 8 am")
    assert r.ok and r.speech == "OK, I'll remind you to take out the trash tomorrow at 8 AM."
    assert len(a.store.pending()) == 1


def test_cancel_all_asks_for_confirmation_per_site(make):
    a = make()
    for t in ("remind me to stretch at 11 am", "remind me to eat at noon"):
        assert say(a, t).ok
    r = say(a, "cancel all my reminders")
    assert r.speech == "Do you want me to cancel all 2 reminders?"
    assert say(a, "yes", site="kitchen").ok is False  # another site has no question pending
    assert len(a.store.pending()) == 2
    r = say(a, "yes")
    assert r.speech == "Done, I cancelled 2 reminders."
    assert a.store.pending() == []


def test_cancel_nothing_is_a_clear_answer(make):
    a = make()
    r = say(a, "cancel my reminder to call the dentist")
    assert not r.ok and r.speech == "You have no reminders to cancel."


def test_timers_named_query_add_cancel(make):
    a = make()
    assert say(a, "set a pasta timer for 8 minutes").speech == "pasta timer for 8 minutes, starting now."
    assert say(a, "set a timer for 20 minutes").ok
    a.clock_ctl.advance(60)
    r = say(a, "how much time is left on the pasta timer")
    assert r.ok and "7 minutes left on the pasta timer" in r.speech
    r = say(a, "add 5 minutes to the pasta timer")
    assert r.ok and "12 minutes left on the pasta timer" in r.speech
    r = say(a, "cancel the pasta timer")
    assert r.ok and len(a.store.pending(kind="timer")) == 1


@pytest.mark.parametrize("text", ["set a timer for 0 minutes", "set a timer for 400 days"])
def test_bad_timers_are_refused(make, text):
    a = make()
    r = say(a, text)
    assert not r.ok and a.store.pending() == []


def test_reminder_in_the_past_is_refused(make):
    a = make()
    r = say(a, "remind me yesterday to buy milk")
    assert not r.ok and a.store.pending() == []


def test_firing_emits_event_and_snooze_reschedules(make):
    a = make()
    events = []
    a.listeners.append(events.append)
    a.start()
    assert say(a, "remind me to check the oven in 10 minutes").ok
    a.clock_ctl.advance(600)
    a.scheduler.process_due()
    assert [e.type for e in events] == ["reminder.due"]
    ev = events[0].to_json()
    assert set(ev) == {"type", "id", "subject", "due", "fired_at", "late_s", "event_id"}
    assert ev["subject"] == "check the oven"
    r = say(a, "snooze for 5 minutes")
    assert r.ok and r.speech == "OK, snoozed for 5 minutes."
    pending = a.store.pending()
    assert len(pending) == 1 and pending[0].subject == "check the oven"
    assert abs(pending[0].due_ts - (a.clock_ctl() + 300)) < 1


def test_snooze_with_nothing_fired(make):
    a = make()
    r = say(a, "snooze")
    assert not r.ok and r.speech == "There is nothing to snooze right now."


def test_alarm_rings_until_stopped(make):
    a = make(scheduler={"alarm_repeat_s": 1, "alarm_timeout_s": 60})
    events = []
    a.listeners.append(events.append)
    a.start()
    assert say(a, "wake me up at 9:30").ok
    a.clock_ctl.advance(1800)
    a.scheduler.process_due()
    for _ in range(2):  # the repeats follow the assistant's clock, not the wall clock
        a.clock_ctl.advance(1)
        a.ring_tick()
    assert len(events) >= 2 and {e.type for e in events} == {"alarm.ringing"}
    r = say(a, "stop")
    assert r.ok and r.speech == "OK, alarm stopped."
    n = len(events)
    a.clock_ctl.advance(2)
    assert a.ring_tick() == 0
    assert len(events) == n


def test_alarm_stops_ringing_after_its_timeout(make):
    a = make(scheduler={"alarm_repeat_s": 1, "alarm_timeout_s": 5})
    events = []
    a.listeners.append(events.append)
    a.start()
    assert say(a, "wake me up at 9:30").ok
    a.clock_ctl.advance(1800)
    a.scheduler.process_due()
    for _ in range(10):
        a.clock_ctl.advance(1)
        a.ring_tick()
    assert len(events) == 5  # the first ring and 4 repeats within 5 s; none after
    assert a.dialogues.site("default").ringing == {}


def test_calendar_and_clock(make):
    a = make()
    r = say(a, "schedule a dentist appointment on friday at 3pm")
    assert r.ok and r.intent == "calendar.create" and "dentist appointment" in r.speech
    item = a.store.pending()[0]
    assert item.fire_ts == item.due_ts - 900
    assert say(a, "what time is it").speech == "It's 9 AM."
    assert say(a, "what's the date today").speech == "Today is Friday, March 27, 2026."


def test_out_of_scope_is_not_a_guess(make):
    a = make()
    r = say(a, "play some jazz music")
    assert not r.ok and r.intent == "out_of_scope" and a.store.pending() == []


def test_huge_subject_is_refused_without_storing(make):
    a = make()
    r = say(a, "remind me to " + "buy milk " * 600 + "at 5 pm")
    assert not r.ok and a.store.pending() == []
    assert "too long" in r.speech
    r = say(a, "remind me to " + "buy milk " * 30 + "at 5 pm")  # 300 characters: long but fine
    assert r.ok and len(a.store.pending()) == 1, r.speech
