"""Zeroconf: advertise the server as `_wyoming._tcp.local.` so Home Assistant finds it by itself.

Off by default (`[wyoming] zeroconf = false`): mDNS announces the box to the whole LAN. With it
on, HA shows a "Discovered: Wyoming Protocol" card; accepting it adds every program in our
Info. Only TCP servers are advertised. The address is the one the server is bound to, or, for
0.0.0.0, the address of the interface that routes to the mDNS group.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

log = logging.getLogger("assistant.wyoming")

SERVICE_TYPE = "_wyoming._tcp.local."
MDNS_GROUP = "224.0.0.251"

__all__ = ["SERVICE_TYPE", "Advertiser", "local_address"]


def local_address(bound: str) -> str:
    if bound and bound not in ("0.0.0.0", "::", ""):
        return bound
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((MDNS_GROUP, 5353))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class Advertiser:
    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name or f"assistant-{socket.gethostname()}"
        self.address = local_address(host)
        self.port = port
        self._zc: Any = None
        self._info: Any = None

    async def start(self) -> None:
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(self.address)], port=self.port,
            properties={"software": "assistant"}, server=f"{socket.gethostname()}.local.")
        self._zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        await self._zc.async_register_service(self._info)
        log.info("zeroconf: advertising %s on %s:%d", self._info.name, self.address, self.port)

    async def stop(self) -> None:
        if self._zc is None:
            return
        try:
            await self._zc.async_unregister_service(self._info)
        finally:
            await self._zc.async_close()
            self._zc = None
