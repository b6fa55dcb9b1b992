"""Per-site token buckets, so one chatty (or broken) automation cannot starve the others.

A command over the limit is dropped, not queued: queuing a flood only delays every later
command. Drops are logged with their reason, at most once per `log_every_s` per site, so
the log itself cannot be flooded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger("assistant.mqtt")


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; one token per command."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self.burst = float(max(1, burst))
        self.clock = clock
        self.tokens = self.burst
        self.stamp = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class SiteLimiter:
    """One bucket per site; the least recently used buckets are forgotten past `max_sites`."""

    def __init__(self, rate: float, burst: int, max_sites: int = 1024,
                 clock: Callable[[], float] = time.monotonic, log_every_s: float = 10.0) -> None:
        self.rate = rate
        self.burst = burst
        self.max_sites = max_sites
        self.clock = clock
        self.log_every_s = log_every_s
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._dropped: dict[str, int] = {}
        self._last_log: dict[str, float] = {}
        self._lock = threading.Lock()
        self.total_dropped = 0

    def allow(self, site: str) -> bool:
        """True if the site may send one more command now; logs the drop otherwise."""
        with self._lock:
            bucket = self._buckets.get(site)
            if bucket is None:
                bucket = self._buckets[site] = TokenBucket(self.rate, self.burst, self.clock)
                while len(self._buckets) > self.max_sites:
                    old, _ = self._buckets.popitem(last=False)
                    self._dropped.pop(old, None)
                    self._last_log.pop(old, None)
            else:
                self._buckets.move_to_end(site)
            if bucket.allow():
                return True
            self.total_dropped += 1
            self._dropped[site] = self._dropped.get(site, 0) + 1
            now = self.clock()
            if now - self._last_log.get(site, -1e18) >= self.log_every_s:
                n = self._dropped.pop(site)
                self._last_log[site] = now
                log.warning("site %r: dropped %d command(s) over the rate limit of %g/s (burst %d); "
                            "raise [mqtt] rate_limit_per_s / rate_burst if this is expected",
                            site, n, self.rate, self.burst)
            return False
