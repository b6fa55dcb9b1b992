"""Issue 13 end to end: the real model, the real pipeline and a real SQLite file.

Never silently wrong (unresolved parts refused with a question, nothing stored), several
items in one request (each stored), natural read-backs, follow-up answers that are new
requests, and wake words / trigger typos before the classifier.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant import config
from assistant.events import Request
from assistant.pipeline import Assistant
from tests.fixtures.clock import Clock
from tests.fixtures.daemon import write_config

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN)  # a Friday


@pytest.fixture(scope="module")
def parser(tmp_path_factory):
    from assistant.nlu.parser import Parser

    return Parser(config.load(write_config(tmp_path_factory.mktemp("parser"))))


@pytest.fixture
def assistant(tmp_path, parser):
    a = Assistant(config.load(write_config(tmp_path)), parser=parser, schedule=True, clock=Clock(NOW))
    yield a
    a.stop()


def say(a, text):
    return a.handle(Request(text=text))


@pytest.mark.parametrize("text,words", [
    ("remind me when I get home to feed the cat", "when I get home"),
    ("remind me at sunset to water the garden", "at sunset"),
    ("remind me on my birthday to relax", "on my birthday"),
    ("remind me 10 minutes before my dentist appointment", "10 minutes before my dentist appointment"),
])
def test_unresolved_is_refused_with_a_question_and_nothing_stored(assistant, text, words):
    r = say(assistant, text)
    assert r.intent == "reminder.create" and r.ok is False
    assert f'"{words}"' in r.speech and "haven't set anything" in r.speech
    assert r.speech.endswith("When should I remind you?")
    assert assistant.store.pending() == []


def test_an_unresolved_request_is_completed_by_the_answer(assistant):
    say(assistant, "remind me when I get home to feed the cat")
    r = say(assistant, "at 6 pm")
    assert r.ok and r.speech == "OK, I'll remind you to feed the cat this evening at 6 PM."
    [item] = assistant.store.pending()
    assert item.subject == "feed the cat" and item.due.astimezone(BERLIN).hour == 18


def test_parse_reports_unresolved_and_more(parser):
    out = parser.parse("remind me when I get home to feed the cat", NOW.replace(tzinfo=None), BERLIN).to_json()
    assert out["unresolved"] == ["when I get home"] and out["slots"]["subject"] == "feed the cat"
    assert out["slots"]["when"] is None
    out = parser.parse("remind me to call dad at 6 and again at 8", NOW.replace(tzinfo=None), BERLIN).to_json()
    assert out["slots"]["when"] == "2026-03-27T18:00:00+01:00"
    assert [m["slots"]["when"] for m in out["more"]] == ["2026-03-27T20:00:00+01:00"]
    assert out["more"][0]["intent"] == "reminder.create" and out["more"][0]["slots"]["subject"] == "call dad"
    plain = parser.parse("remind me to water the plants at 6 pm", NOW.replace(tzinfo=None), BERLIN).to_json()
    assert "unresolved" not in plain and "more" not in plain


def test_several_items_are_each_stored(assistant):
    r = say(assistant, "remind me to call dad at 6 and again at 8")
    assert r.ok and r.speech.count("OK, I'll remind you to call dad") == 2
    assert sorted(it.due.astimezone(BERLIN).hour for it in assistant.store.pending()) == [18, 20]
    r = say(assistant, "set two timers: 5 minutes for eggs and 10 for toast")
    assert r.ok and r.intent == "timer.start"
    timers = sorted((it.duration_s or 0, it.label) for it in assistant.store.pending(kind="timer"))
    assert [d for d, _ in timers] == [300, 600] and [lbl for _, lbl in timers] == ["eggs", "toast"]


def test_one_repeat_with_two_times_is_one_item(assistant):
    r = say(assistant, "remind me to give the dog his tablets at 7am and 7pm every day")
    assert r.ok and "every day at 7 AM and 7 PM" in r.speech
    [item] = assistant.store.pending()
    assert item.rrule == "FREQ=DAILY;BYHOUR=7,19;BYMINUTE=0"


def test_exclusion_reads_back_what_is_stored(assistant):
    r = say(assistant, "remind me every day at 6pm except Sunday to water the plants")
    assert r.ok and r.speech == ("OK, I'll remind you to water the plants every day except Sunday at 6 PM.")
    r = say(assistant, "remind me every Monday except Monday to jog")
    assert r.ok is False and "no day" in r.speech
    assert len(assistant.store.pending()) == 1


def test_calendar_range_stores_the_end(assistant):
    r = say(assistant, "add yoga tomorrow from 6 to 7pm to my calendar")
    assert r.ok and r.intent == "calendar.create"
    assert r.slots["end"] == "2026-03-28T19:00:00+01:00"
    [item] = assistant.store.pending()
    assert item.duration_s == 3600 and item.due.astimezone(BERLIN).hour == 18


def test_bad_ranges_get_an_answer_and_store_nothing(assistant):
    for text in ("add a meeting from 5pm to 3pm tomorrow to my calendar",
                 "add a party from 10pm to 2am on saturday to my calendar"):
        r = say(assistant, text)
        assert r.ok is False and ("ends before it starts" in r.speech or "past midnight" in r.speech), r.speech
    assert assistant.store.pending() == []


def test_read_backs_are_natural(assistant):
    r = say(assistant, "remind me in 20 seconds to check the pan")
    assert r.ok and r.speech == "OK, I'll remind you to check the pan in 20 seconds."
    r = say(assistant, "remind me to tell John I love you at 5 pm")
    assert r.ok and "tell John I love you" in r.speech
    r = say(assistant, "remind me every 3 weeks on friday to change the filter")
    assert r.ok and "every 3 weeks on Friday at 9 AM" in r.speech


def test_a_new_request_answers_no_question(assistant):
    r = say(assistant, "remind me at 5 pm")
    assert r.speech == "What should I remind you about?"
    r = say(assistant, "what time is it")
    assert r.intent == "time.query" and r.ok
    assert assistant.store.pending() == []
    r = say(assistant, "remind me at 5 pm")
    r = say(assistant, "call the plumber")
    assert r.ok and r.speech == "OK, I'll remind you to call the plumber today at 5 PM."
    say(assistant, "remind me at 6 pm")
    r = say(assistant, "remind me to feed the cat")  # the same request again, now with a subject
    assert r.ok and r.speech == "OK, I'll remind you to feed the cat this evening at 6 PM."
    r = say(assistant, "remind me at 7 pm")
    r = say(assistant, "remind me to water the plants at 8 pm")  # a full request of its own
    assert r.ok and "at 8 PM" in r.speech
    assert sorted(it.subject for it in assistant.store.pending()) == ["call the plumber", "feed the cat",
                                                                       "water the plants"]


@pytest.mark.parametrize("text,intent", [
    ("set a remainder for six pm to feed the rabbit", "reminder.create"),
    ("remidn me to call bob at 5", "reminder.create"),
    ("turn off the alram for tomorrow", "alarm.cancel"),
    ("olly what time is it", "time.query"),
    ("hey google set a timer for ten minutes", "timer.start"),
    ("remind me to check the tyres at 0945", "reminder.create"),
    ("remind me to check the oven at 1930", "reminder.create"),
])
def test_wake_words_and_trigger_typos(parser, text, intent):
    out = parser.parse(text, NOW.replace(tzinfo=None), BERLIN)
    assert out.intent == intent, (out.intent, out.confidence)
