"""Several real daemons on one PostgreSQL store and one Mosquitto (issue 19).

Three daemons in one MQTT 5 shared-subscription group share the commands and the firing:
every command is answered once, every reminder fires once while one daemon is SIGKILLed
and later restarted. Two daemons on different topic roots (so the test knows which one
answers) continue each other's dialogue: a follow-up question asked by one is answered
through the other, a timer started on one is cancelled through the other.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.fixtures.daemon import write_config

pytestmark = pytest.mark.slow

SITES = [f"room{n:02d}" for n in range(20)]


def body(msg):
    return json.loads(msg.payload)


def start_many(tmp_path, start_daemon, mosquitto, pg_url, n, roots=None, group="assistant"):
    daemons = []
    for i in range(n):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        mqtt = {**mosquitto.mqtt_section(), "client_id": f"assistant-test-{i}",
                "rate_limit_per_s": 1000.0, "rate_burst": 1000, "discovery": False,
                "root": roots[i] if roots else "assistant"}
        if group:
            mqtt["shared_group"] = group
        cfg = write_config(folder, mqtt=mqtt, storage={"url": pg_url},
                           log={"level": "INFO"})
        daemons.append(start_daemon(cfg))
    for d in daemons:
        d.wait_ready(240)
    return daemons


def test_three_daemons_share_commands_and_fire_each_reminder_once(
        tmp_path, mosquitto, probe_factory, start_daemon, pg_url):
    from assistant.store.db import Item
    from assistant.store.pg import PgStore

    daemons = start_many(tmp_path, start_daemon, mosquitto, pg_url, 3)
    probe = probe_factory(mosquitto, client_id="multi-probe",
                          subscribe=["assistant/+/reply", "assistant/+/event"])
    time.sleep(1.0)  # every daemon has subscribed (READY comes after the subscription is sent)

    # 1. Commands over 20 sites, each answered exactly once, each acted on once.
    n = 300
    for k in range(n):
        probe.publish(f"assistant/{SITES[k % 20]}/command",
                      json.dumps({"text": f"remind me to check box {k} in 3 hours", "id": f"c{k}"}))
    replies: list[dict] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(replies) < n:
        replies += [body(m) for m in probe.drain(1.0) if m.topic.endswith("/reply")]
    ids = Counter(r["id"] for r in replies)
    assert len(ids) == n and max(ids.values()) == 1, f"missing or doubled: {len(ids)}, {ids.most_common(3)}"
    assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3]
    store = PgStore(pg_url)
    subjects = Counter(i.subject for i in store.pending())
    assert len(subjects) == n and max(subjects.values()) == 1
    time.sleep(6)  # heartbeats (every 5 s) carry each instance's request count
    served = {i["id"]: i["requests"] for i in store.instances()}
    assert len(served) == 3 and sum(served.values()) >= n
    assert sum(1 for v in served.values() if v > 0) >= 2, served  # the broker spread them

    # 2. 200 reminders due within 30 s; one daemon is SIGKILLed while they fire.
    now = time.time()
    due = [store.add(Item(kind="reminder", due_ts=now + 12 + k * 0.1, zone="Europe/Berlin",
                          subject=f"due {k}", site=SITES[k % 20])) for k in range(200)]
    want = {it.id for it in due}
    events: list[dict] = []
    killed = False
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and not want <= {e["id"] for e in events}:
        events += [body(m) for m in probe.drain(0.5) if m.topic.endswith("/event")]
        if not killed and time.time() > now + 20:
            daemons[0].kill()  # mid-way through the burst
            killed = True
    assert killed
    got = {e["id"] for e in events}
    assert want <= got, f"{len(want - got)} reminders never announced"
    rows = store.db.execute("SELECT item_id, count(*) FROM fires WHERE item_id = ANY(?) "
                            "GROUP BY item_id", [list(want)]).fetchall()
    assert len(rows) == 200 and {r[1] for r in rows} == {1}  # fired exactly once each
    assert {store.get(i).status for i in want} == {"fired"}
    dup = Counter(e["event_id"] for e in events if e["id"] in want)
    assert all(dup[f"{i}-1"] >= 1 for i in want)  # duplicates only of the same event_id

    # 3. The killed daemon restarts and serves again.
    again = start_daemon(daemons[0].config)
    again.wait_ready(240)
    time.sleep(1.0)
    for k in range(6):
        probe.publish(f"assistant/{SITES[k]}/command",
                      json.dumps({"text": "what time is it", "id": f"after-{k}"}))
    late = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(late) < 6:
        late |= {body(m)["id"] for m in probe.drain(0.5) if m.topic.endswith("/reply")}
    assert len(late) == 6


def test_dialogue_continues_on_another_daemon(tmp_path, mosquitto, probe_factory, start_daemon,
                                               pg_url):
    from assistant.store.pg import PgStore

    start_many(tmp_path, start_daemon, mosquitto, pg_url, 2, roots=["a", "b"], group="")
    probe = probe_factory(mosquitto, client_id="dialogue-probe",
                          subscribe=["a/+/reply", "b/+/reply"])

    def ask(root, text, id_):
        probe.publish(f"{root}/kitchen/command", json.dumps({"text": text, "id": id_}))
        return body(probe.expect(lambda m: m.topic == f"{root}/kitchen/reply"
                                 and body(m).get("id") == id_, timeout=60, what=text))

    q = ask("a", "remind me to water the plants", "q1")
    assert q["ok"] and q["speech"].endswith("?"), q  # the follow-up question, asked by a
    r = ask("b", "at 5 pm", "q2")  # ...answered through b
    store = PgStore(pg_url)
    made = [i for i in store.pending() if i.kind == "reminder"]
    assert [i.subject for i in made] == ["water the plants"], (r, made)
    assert made[0].due.hour == 17

    t = ask("a", "set a timer for 10 minutes", "t1")
    assert t["ok"] and [i.kind for i in store.pending(kind="timer")] == ["timer"], t
    c = ask("b", "cancel the timer", "t2")
    assert c["ok"] and store.pending(kind="timer") == [], c
