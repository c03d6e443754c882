"""Hands a notification to apprise (blocking: the service calls it in a worker thread)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import apprise

from cockpit.alerts.config import Receiver

SendFn = Callable[[str, str, str, str], str | None]


class AppriseSender:
    """`send(receiver, title, body, type)` returns None on success, else why it failed."""

    def __init__(self, receivers: Sequence[Receiver], timeout: float = 15.0) -> None:
        self._urls = {r.name: list(r.urls) for r in receivers}
        self._timeout = timeout
        self._lock = threading.Lock()  # apprise's log capture is process-wide

    def __call__(self, receiver: str, title: str, body: str, notify_type: str) -> str | None:
        urls = self._urls.get(receiver)
        if urls is None:
            return f"receiver {receiver!r} is no longer configured"
        client = apprise.Apprise()
        for url in urls:
            if not client.add(url):
                return f"receiver {receiver!r}: apprise cannot use one of its URLs"
        kind = {
            "info": apprise.NotifyType.INFO,
            "success": apprise.NotifyType.SUCCESS,
            "warning": apprise.NotifyType.WARNING,
            "failure": apprise.NotifyType.FAILURE,
        }.get(notify_type, apprise.NotifyType.WARNING)
        with self._lock, apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            try:
                ok = client.notify(
                    body=body or title, title=title, notify_type=kind, body_format="text"
                )
            except Exception as exc:  # apprise plugins may raise on odd network errors
                return f"{type(exc).__name__}: {exc}"
            log = captured.getvalue() if hasattr(captured, "getvalue") else ""
        if ok:
            return None
        lines = [line.split(" - ", 2)[-1] for line in str(log).splitlines() if line.strip()]
        return (lines[-1] if lines else "apprise reported a failed delivery")[:500]
