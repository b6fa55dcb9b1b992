"""The ICS feed, fetched over HTTP from the daemon, parsed back with icalendar, and checked
against the store: times and zones, RRULE, alarms, stable UIDs, cancelled items gone."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from icalendar import Calendar

from assistant.store.db import Store


def _feed_path(c) -> str:
    page = c.get("/calendar").text
    webcal = re.search(r'href="(webcal://[^"]+)"', page).group(1)
    path = re.search(r'href="(/calendar.ics[^"]*)" id="ics"', page).group(1)
    assert webcal.endswith(path.replace("&amp;", "&")) and "token=" in path
    return path.replace("&amp;", "&")


def _events(c, path: str) -> tuple[Calendar, dict]:
    r = c.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    return cal, {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_feed_matches_the_store(http_daemon):
    with http_daemon.client() as c:
        for text in ("remind me every tuesday at 7 pm to take out the bins",
                     "schedule a dentist appointment on friday at 3 pm",
                     "set an alarm for 6:30 tomorrow",
                     "remind me to call the plumber tomorrow at 10 am",
                     "set a timer for 15 minutes"):
            r = c.post("/api/command", json={"text": text, "site": "ics"})
            assert r.json()["ok"], r.json()
        items = {it["subject"] or it["kind"]: it for it in
                 c.get("/api/items", params={"site": "ics"}).json()["items"]}
        plumber = items["call the plumber"]["id"]
        assert c.delete(f"/api/items/{plumber}").status_code == 200
        path = _feed_path(c)
        cal, events = _events(c, path)
        # Anonymous calendar apps use the feed token in the URL; nothing else opens it.
        with http_daemon.client(auth=False) as anon:
            assert anon.get(path).status_code == 200
            assert anon.get("/calendar.ics").status_code == 401

    store = Store(http_daemon.db, readonly=True)
    try:
        mine = [it for it in store.all_items() if it.site == "ics"]
    finally:
        store.close()
    tzids = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert tzids == {"Europe/Berlin"}
    now = datetime.now().astimezone()
    for item in mine:
        uid = f"{item.id}@assistant"
        if item.kind == "timer" or item.status == "cancelled":
            assert uid not in events, f"{item.kind} {item.status} must not be in the feed"
            continue
        ev = events[uid]
        start = ev.decoded("DTSTART")
        assert getattr(start.tzinfo, "key", None) == item.zone
        alarm = ev.walk("VALARM")[0]
        assert str(alarm["ACTION"]) == "DISPLAY"
        trigger = alarm.decoded("TRIGGER")
        if item.kind == "calendar":
            assert trigger == -timedelta(seconds=item.notice_s) and item.notice_s == 900
            assert str(ev["SUMMARY"]) == "dentist appointment"
        else:
            assert trigger == timedelta(0)
        if item.rrule:
            rule = ev["RRULE"]
            stored = dict(p.split("=") for p in item.rrule.split(";"))
            assert rule["FREQ"] == [stored["FREQ"]] and rule["BYDAY"] == [stored["BYDAY"]]
            assert start.replace(tzinfo=None).isoformat() == item.dtstart_local
            expanded = rrulestr(ev["RRULE"].to_ical().decode(), dtstart=start)
            assert expanded.after(now) == item.due  # the phone's next one is the store's
        else:
            assert start == item.due
    assert len([e for e in events if e.split("@")[0] in {it.id for it in mine}]) == 3


def test_uids_are_stable_and_edits_show_up(http_daemon):
    with http_daemon.client() as c:
        c.post("/api/command", json={"text": "remind me to renew the passport in 3 days",
                                     "site": "ics2"})
        item = c.get("/api/items", params={"site": "ics2"}).json()["items"][0]
        path = _feed_path(c)
        _, before = _events(c, path)
        time.sleep(1.1)  # LAST-MODIFIED has whole seconds
        new_due = (datetime.fromisoformat(item["due"]) + timedelta(hours=2))
        c.patch(f"/api/items/{item['id']}", json={"subject": "renew both passports",
                                                   "due": new_due.isoformat()})
        _, after = _events(c, path)
    uid = f"{item['id']}@assistant"
    assert set(before) == set(after)
    assert str(after[uid]["SUMMARY"]) == "Reminder: renew both passports"
    assert after[uid].decoded("DTSTART") == new_due
    assert after[uid].decoded("LAST-MODIFIED") > before[uid].decoded("LAST-MODIFIED")
