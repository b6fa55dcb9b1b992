"""A tiny sd_notify client: tells systemd we are ready, what we are doing, and that we live.

Why our own: the protocol is one AF_UNIX datagram of "KEY=VALUE" lines sent to
$NOTIFY_SOCKET, so a dependency (python-systemd needs libsystemd headers to build) is not
worth it on a Pi. Every call is a no-op returning False when $NOTIFY_SOCKET is unset, so
the daemon behaves the same in a terminal, in tests and under systemd.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

ENV_SOCKET = "NOTIFY_SOCKET"
ENV_WATCHDOG_USEC = "WATCHDOG_USEC"
ENV_WATCHDOG_PID = "WATCHDOG_PID"


def _address() -> str | None:
    """The socket address from $NOTIFY_SOCKET ('@name' = Linux abstract namespace)."""
    raw = os.environ.get(ENV_SOCKET, "")
    if not raw:
        return None
    if raw.startswith("@"):
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    # vsock:CID:PORT (VM guests) and other forms are not used on our targets.
    return None


def notify(state: str) -> bool:
    """Send one notification ("READY=1", "STATUS=...", newline-separated); True if sent."""
    address = _address()
    if address is None or not state:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8", "replace"))
        return True
    except OSError as exc:
        # Never fatal: a missing manager must not take the assistant down.
        log.debug("sd_notify %r to %r failed: %s", state, address, exc)
        return False


def _clean(text: str) -> str:
    # STATUS= is one line in the protocol; a newline would start a new (bogus) assignment.
    return " ".join(str(text).split())


def ready(status: str = "") -> bool:
    """READY=1 (Type=notify units count as started only now), with an optional STATUS=."""
    msg = "READY=1"
    if status:
        msg += "\nSTATUS=" + _clean(status)
    return notify(msg)


def status(text: str) -> bool:
    """STATUS=text, shown by `systemctl status assistant`."""
    return notify("STATUS=" + _clean(text))


def stopping(status_text: str = "") -> bool:
    """STOPPING=1: the service is shutting down on purpose (not a crash)."""
    msg = "STOPPING=1"
    if status_text:
        msg += "\nSTATUS=" + _clean(status_text)
    return notify(msg)


def reloading() -> bool:
    """RELOADING=1 at the start of a SIGHUP reload; send ready() when done."""
    return notify("RELOADING=1")


def extend_timeout(seconds: float) -> bool:
    """EXTEND_TIMEOUT_USEC: ask for more start/stop time (slow first model load)."""
    return notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1_000_000))}")


def watchdog_ping() -> bool:
    """WATCHDOG=1: proof of life; systemd restarts the unit if these stop for WatchdogSec."""
    return notify("WATCHDOG=1")


def watchdog_interval() -> float | None:
    """The unit's WatchdogSec in seconds, or None when no watchdog is armed for this process.

    Ping at half this value (the Watchdog class does). WATCHDOG_PID, when set, must be our
    pid: a child that inherited the environment must not ping for its parent.
    """
    usec = os.environ.get(ENV_WATCHDOG_USEC, "")
    if not usec:
        return None
    pid = os.environ.get(ENV_WATCHDOG_PID, "")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


class Watchdog:
    """Pings the systemd watchdog from a thread, but only while the daemon is healthy.

    Why a health check: a thread that pings unconditionally keeps a wedged daemon alive
    forever; gating on is_healthy() (e.g. "the scheduler thread still runs") lets systemd
    restart it. Without a watchdog in the environment, start() does nothing.
    """

    def __init__(self, is_healthy: Callable[[], bool], interval: float | None = None) -> None:
        self.is_healthy = is_healthy
        full = interval if interval is not None else watchdog_interval()
        self.period: float | None = full / 2 if full else None
        self.pings = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_healthy = True

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start pinging; False (and nothing started) when no watchdog is armed."""
        if self.period is None or self.active:
            return self.active
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def check_and_ping(self) -> bool:
        """One round: ping if healthy; True when a ping was sent."""
        try:
            healthy = bool(self.is_healthy())
        except Exception:
            log.exception("watchdog health check raised; treating as unhealthy")
            healthy = False
        if healthy != self._was_healthy:
            if healthy:
                log.info("watchdog: healthy again, pinging resumes")
            else:
                log.error("watchdog: daemon unhealthy, pings withheld; systemd will restart "
                          "the service if this lasts")
            self._was_healthy = healthy
        if not healthy:
            return False
        sent = watchdog_ping()
        if sent:
            self.pings += 1
        return sent

    def _run(self) -> None:
        assert self.period is not None
        self.check_and_ping()
        while not self._stop.wait(self.period):
            self.check_and_ping()


__all__ = [
    "Watchdog",
    "extend_timeout",
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog_interval",
    "watchdog_ping",
]
