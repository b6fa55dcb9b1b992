"""sd_notify client: real AF_UNIX datagrams to a socket the test owns, as systemd would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import sdnotify

ROOT = Path(__file__).resolve().parents[1]


class Manager:
    """The systemd side: a bound datagram socket collecting notifications."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, timeout: float = 2.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(65536).decode("utf-8")

    def recv_all(self, wait: float) -> list[str]:
        out: list[str] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.recv(left))
            except TimeoutError:
                break
        return out


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Manager]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    for var in ("WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(var, raising=False)
    yield Manager(sock)
    sock.close()


def test_no_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready("x") is False
    assert sdnotify.watchdog_ping() is False


def test_ready_carries_status(manager: Manager) -> None:
    assert sdnotify.ready("serving; 3 items scheduled") is True
    assert manager.recv() == "READY=1\nSTATUS=serving; 3 items scheduled"


def test_status_is_one_line(manager: Manager) -> None:
    # A newline inside STATUS would smuggle in another assignment (e.g. READY=1).
    assert sdnotify.status("loading\nREADY=1") is True
    assert manager.recv() == "STATUS=loading READY=1"


def test_stopping_watchdog_reloading_extend(manager: Manager) -> None:
    sdnotify.stopping()
    sdnotify.watchdog_ping()
    sdnotify.reloading()
    sdnotify.extend_timeout(2.5)
    assert manager.recv_all(0.5) == ["STOPPING=1", "WATCHDOG=1", "RELOADING=1",
                                     "EXTEND_TIMEOUT_USEC=2500000"]


def test_abstract_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"assistant-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.notify("READY=1") is True
        sock.settimeout(2)
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()


def test_dead_socket_is_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.notify("READY=1") is False


@pytest.mark.parametrize(("usec", "pid", "expected"), [
    (None, None, None),
    ("30000000", None, 30.0),
    ("30000000", "self", 30.0),
    ("30000000", "other", None),  # inherited by a child: not ours to ping
    ("0", None, None),
    ("soon", None, None),
    ("30000000", "x", None),
])
def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None,
                           expected: float | None) -> None:
    for var, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            value = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}.get(value, value)
            monkeypatch.setenv(var, value)
    assert sdnotify.watchdog_interval() == expected


def test_watchdog_pings_at_half_the_interval(manager: Manager,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # 0.4 s -> ping every 0.2 s
    dog = sdnotify.Watchdog(lambda: True)
    assert dog.period == pytest.approx(0.2)
    assert dog.start() is True
    try:
        got = manager.recv_all(1.0)
    finally:
        dog.stop()
    assert not dog.active
    assert 4 <= got.count("WATCHDOG=1") <= 7, got
    assert manager.recv_all(0.5) == [], "pings went on after stop()"


def test_watchdog_withholds_pings_while_unhealthy(manager: Manager) -> None:
    healthy = threading.Event()
    healthy.set()
    dog = sdnotify.Watchdog(healthy.is_set, interval=0.2)
    dog.start()
    try:
        assert "WATCHDOG=1" in manager.recv_all(0.35)
        healthy.clear()
        time.sleep(0.15)  # let an in-flight round finish
        manager.recv_all(0.05)
        assert manager.recv_all(0.6) == [], "pinged while unhealthy"
        healthy.set()
        assert "WATCHDOG=1" in manager.recv_all(0.5)
    finally:
        dog.stop()


def test_watchdog_health_check_that_raises_counts_as_unhealthy(manager: Manager) -> None:
    def broken() -> bool:
        raise RuntimeError("scheduler gone")

    dog = sdnotify.Watchdog(broken, interval=0.2)
    assert dog.check_and_ping() is False
    assert manager.recv_all(0.2) == []


def test_watchdog_without_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    dog = sdnotify.Watchdog(lambda: True)
    assert dog.start() is False
    assert not dog.active
    dog.stop()  # harmless


def test_child_process_reaches_the_manager(manager: Manager) -> None:
    """Across a real process boundary, as with systemd and the daemon."""
    code = ("from assistant import sdnotify; import sys; "
            "sys.exit(0 if sdnotify.ready('from a child') else 1)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ),
                          timeout=60, check=False)
    assert proc.returncode == 0
    assert manager.recv() == "READY=1\nSTATUS=from a child"
