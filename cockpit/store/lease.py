"""Leases: a singleton job (alert evaluation of a community, reminders, a scheduled job) runs
in one process at a time, and another takes over once the holder stops renewing.

Every take-over raises the lease's fencing token, so a holder that was paused past its expiry
can tell (and a store can refuse) writes made under a token that is no longer current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    token: int  # grows by one at every change of holder (or re-take after expiry)
    expires: datetime
