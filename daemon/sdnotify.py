"""The systemd notification protocol (sd_notify), for ``Type=notify`` and ``WatchdogSec=``.

Datagrams of ``KEY=value`` lines to the unix socket named by ``$NOTIFY_SOCKET`` (a
leading ``@`` names an abstract socket). Without the variable, every call is a no-op.
A few lines of socket code: no library needed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if address:
            self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        # Ping at half the watchdog period, as systemd recommends.
        self.watchdog_interval: float | None = int(usec) / 2e6 if watchdog else None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: str) -> bool:
        """Send ``READY="1"``, ``STATUS="..."``; False when not under systemd or it failed."""
        if self.address is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify(READY="1", STATUS=status, MAINPID=str(os.getpid()))

    def status(self, status: str) -> bool:
        return self.notify(STATUS=status)

    def watchdog(self) -> bool:
        """Ping the watchdog; only when systemd asked for it (WATCHDOG_USEC for us)."""
        if self.watchdog_interval is None:
            return False
        return self.notify(WATCHDOG="1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.notify(STOPPING="1", STATUS=status)

    def reloading(self) -> bool:
        return self.notify(RELOADING="1", STATUS="reloading the config")
