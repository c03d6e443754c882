"""Background tasks: the one place that knows how to stop a set of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import MutableSequence


async def cancel_all(tasks: MutableSequence[asyncio.Task[None]]) -> None:
    """Cancel every task, wait until each has finished unwinding, and empty the list.

    Waiting matters: a task still closing a cursor must not see the store close under it.
    """
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    del tasks[:]
