"""The pure parts of the MQTT package: payload validation, back-off, rate limit, ids."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant import config as config_mod
from assistant.mqtt.client import backoff_delay
from assistant.mqtt.discovery import client_id, node_id
from assistant.mqtt.payloads import PayloadError, check_site, parse_command
from assistant.mqtt.ratelimit import SiteLimiter, TokenBucket


def test_plain_text_and_json_commands():
    c = parse_command(b"  remind me to call mum  ", "kitchen", 100)
    assert (c.request.text, c.request.site, c.request.id, c.request.source) == (
        "remind me to call mum", "kitchen", None, "mqtt")
    c = parse_command(json.dumps({"text": "hi", "id": 7}).encode(), "default", 100)
    assert c.request.id == "7" and c.raw_id == 7
    # a JSON scalar is just text
    assert parse_command(b"42", "default", 100).request.text == "42"


@pytest.mark.parametrize("payload, error, echoed", [
    (b"\xc3\x28", "not UTF-8 text: byte 0xc3 at position 0", None),
    (b"{", "invalid JSON", None),
    (b"[]", "got a list", None),
    (b'{"text": "a", "id": true}', "'id' must be a string or an integer, got a boolean", None),
    (b'{"text": "a", "id": "x", "when": 1}', "unknown field(s) 'when'", "x"),
    (b'{"text": null, "id": "y"}', "'text' must be a string, got null", "y"),
    (b'{"text": "a\\u0000b"}', "NUL", None),
    (b"a" * 101, "payload too large: 101 bytes, the limit is 100", None),
])
def test_bad_commands_name_the_problem(payload, error, echoed):
    with pytest.raises(PayloadError) as exc:
        parse_command(payload, "default", 100)
    assert error in str(exc.value)
    assert exc.value.id == echoed


@given(st.binary(max_size=300))
def test_any_bytes_give_a_request_or_a_payload_error(data):
    try:
        c = parse_command(data, "s", 200)
    except PayloadError as exc:
        assert str(exc)
    else:
        assert c.request.text and c.request.text == c.request.text.strip()


def test_site_checks():
    assert check_site("kitchen", ["default"], True) is None
    assert "unknown site 'kitchen'" in check_site("kitchen", ["default"], False)
    assert "not valid" in check_site("a b", [], True)
    assert "not valid" in check_site("x" * 65, [], True)
    assert check_site("living room", ["living room"], False) is None  # configured: always served


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    lo = [backoff_delay(n, 1.0, 60.0, rand=lambda: 0.0) for n in range(1, 10)]
    hi = [backoff_delay(n, 1.0, 60.0, rand=lambda: 1.0) for n in range(1, 10)]
    assert lo[:4] == [0.5, 1.0, 2.0, 4.0] and hi[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(hi) == 60.0 and lo[-1] == 30.0

    spread = {round(backoff_delay(3, 1.0, 60.0), 3) for _ in range(50)}
    assert len(spread) > 10 and all(2.0 <= d <= 4.0 for d in spread)


def test_token_bucket_and_site_limiter(caplog):
    now = [0.0]
    b = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [b.allow() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert b.allow() and not b.allow()
    caplog.set_level(logging.WARNING, "assistant.mqtt")
    lim = SiteLimiter(rate=1, burst=1, max_sites=2, clock=lambda: now[0])
    assert lim.allow("a") and not lim.allow("a") and not lim.allow("a")
    assert lim.allow("b")
    assert lim.total_dropped == 2
    assert caplog.text.count("site 'a': dropped") == 1  # one line per 10 s, not one per drop
    lim.allow("c")
    assert len(lim._buckets) == 2  # oldest site forgotten


def test_client_id_is_stable_and_node_id_is_ha_safe():
    cfg = config_mod.from_dict({"mqtt": {"client_id": "my box.1"}})
    assert client_id(cfg) == "my box.1" and node_id(cfg) == "my_box_1"
    default = config_mod.Config()
    assert client_id(default) == client_id(default) and client_id(default).startswith("assistant-")
