"""The token holder's side: carry out the requests in the store, once each.

Runs in the process holding the sources' tokens (`cockpit collect`, the in-process TUI).
For each (platform, community) one of its sources can act on, it claims pending steps
(atomically: another collector never gets the same step), calls the platform, and stores
the outcome with its effects. A step found claimed but unfinished at start (this process
died mid-call) is checked on the platform with `Actor.verify`, never performed again
blindly: it is carried out only when the check finds its effect absent. Temporary actions are lifted when due (unless the platform lifts them itself),
also after a restart: lifting (unban, unlock, slow mode back) is idempotent, so it runs
before the case is closed and a crash in between only repeats a harmless call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from cockpit.config import Config
from cockpit.moderation.repository import Case, Claimed, Step
from cockpit.plugin_api import ActionCall, ActionOutcome, Actor, SourceContext
from cockpit.registry import Registry
from cockpit.store.base import Store
from cockpit.tasks import cancel_all
from cockpit.timeutil import utcnow
from cockpit.watch import ChangeWatch

log = logging.getLogger("cockpit.moderation")
STALE_AFTER = timedelta(minutes=2)  # a claim this old, by a process not seen alive, is stale
# Actions whose effect a check can see and whose second application changes nothing: when
# the check after a crash finds the effect absent, the call is made (posts are not: a post
# the check could not find may still have gone out)
REAPPLY = frozenset(
    {"ban", "unban", "timeout", "kick", "lock", "unlock", "slowmode", "delete", "purge"}
)
LIFT = {"ban": "unban", "timeout": "timeout", "lock": "unlock", "slowmode": "slowmode"}


def build_actors(config: Config, registry: Registry) -> dict[tuple[str, str], Actor]:
    """The actors of the enabled sources whose plugin can act, by (platform, community)."""
    actors: dict[tuple[str, str], Actor] = {}
    types = registry.source_types
    for sc in config.sources:
        if not sc.enabled:
            continue
        st = types.get(sc.type)
        if st is None or st.actor is None:
            continue
        try:
            actor = st.actor(sc.settings, SourceContext(sc.name, sc.community, config.base_dir))
        except Exception as exc:  # one source's actor must not stop the others
            log.error("source=%s cannot act: %s", sc.name, exc)
            continue
        for platform in actor.actions:
            actors.setdefault((platform, sc.community), actor)
    return actors


def _alive_here(holder: str | None) -> bool:
    """Whether a claim's holder is a process on this host that still runs."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ActionExecutor:
    def __init__(
        self,
        store: Store,
        actors: Mapping[tuple[str, str], Actor],
        holder: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        wake_every: float = 1.0,
    ) -> None:
        self.store = store
        self.repo = store.moderation
        self.actors = dict(actors)
        self.holder = holder
        self.clock = clock
        self.wake_every = wake_every
        self.performed = 0  # platform calls made (tests, bench)
        self._lift_after: dict[int, float] = {}  # case -> monotonic time of the next try
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self.actors)

    async def start(self) -> None:
        if not self.actors:
            return
        await self.recover()
        self._tasks.append(asyncio.create_task(self._loop(), name="moderation"))
        log.info("acting for %s", ", ".join(f"{p} ({c})" for p, c in self.pairs))

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        for actor in {id(a): a for a in self.actors.values()}.values():
            with contextlib.suppress(Exception):
                await actor.aclose()

    async def _loop(self) -> None:
        async with ChangeWatch(self.store) as watch:
            while True:
                try:
                    await self.run_once()
                except Exception:
                    log.exception("moderation: a round failed; retrying")
                await watch.wait(self.wake_every)

    async def run_once(self) -> int:
        """Claim and carry out what is pending for us, then lift what is due."""
        done = 0
        while True:
            claimed = await self.repo.claim(self.pairs, self.holder, self.clock())
            if not claimed:
                break
            for c in claimed:
                await self.perform(c)
                done += 1
        for case in await self.repo.due(self.clock()):
            if self._lift_after.get(case.number, 0.0) <= time.monotonic():
                await self.lift(case)
        return done

    async def _call(self, case: Case, step: Step) -> ActionCall:
        call = case.call(step)
        if case.reverts is not None:  # an undo puts back what the original saved
            original = await self.repo.case(case.reverts)
            if original is not None:
                saved = next(
                    (
                        s.restore
                        for s in original.steps
                        if s.target.platform == step.target.platform
                    ),
                    None,
                )
                call = replace(call, restore=saved)
        if case.action == "timeout" and case.reverts is not None:
            call = replace(call, until=None)  # a timeout without an end lifts it
        return call

    async def perform(self, c: Claimed) -> None:
        case, step = c.case, c.step
        actor = self.actors.get((step.target.platform, step.target.community))
        if actor is None:
            return  # not ours (claim() only hands out our pairs)
        if case.action not in actor.actions.get(step.target.platform, frozenset()):
            outcome = ActionOutcome(
                "failed", f"{step.target.platform} cannot {case.action} from the cockpit"
            )
        else:
            call = await self._call(case, step)
            try:
                outcome = await actor.perform(call)
            except Exception as exc:  # an actor should answer, not raise: it may have acted
                outcome = ActionOutcome(
                    "unknown", f"{type(exc).__name__}: {exc} (check on {step.target.platform})"
                )
        self.performed += 1
        await self.repo.finish(step, outcome, self.clock())
        log.info(
            "case=%d %s %s: %s %s",
            case.number,
            case.action,
            step.target.platform,
            outcome.status,
            outcome.detail,
        )

    async def recover(self) -> None:
        """Steps a crash left claimed: ask the platform whether they took effect."""
        now = self.clock()
        for c in await self.repo.stale(self.pairs):
            step = c.step
            fresh = step.claimed_at is not None and now - step.claimed_at < STALE_AFTER
            if step.claimed_by != self.holder and _alive_here(step.claimed_by):
                continue  # another process here is still at it
            if (
                fresh
                and step.claimed_by
                and not step.claimed_by.startswith(socket.gethostname() + ":")
            ):
                continue  # another host's collector may still be at it
            actor = self.actors.get((step.target.platform, step.target.community))
            if actor is None:
                continue
            call = await self._call(c.case, step)
            try:
                outcome = await actor.verify(call)
            except Exception as exc:
                outcome = ActionOutcome("unknown", f"cannot check: {type(exc).__name__}: {exc}")
            if outcome is not None and outcome.status == "failed" and c.case.action in REAPPLY:
                # checked: not in effect, so the call never landed; doing it now is not a
                # repeat (a ban-everywhere stopped by a crash still bans everywhere)
                await self.repo.add_event(
                    c.case.number,
                    "verified",
                    self.holder,
                    f"{step.target.platform}: not in effect after a restart "
                    f"({outcome.detail}); carrying it out now",
                    self.clock(),
                )
                log.warning(
                    "case=%d %s: not in effect after a restart; carrying it out",
                    c.case.number,
                    step.target.platform,
                )
                await self.perform(c)
                continue
            if outcome is None:
                outcome = ActionOutcome(
                    "unknown",
                    "the cockpit stopped during the call; the platform cannot tell whether "
                    "it took effect: check it there",
                )
            await self.repo.finish(step, outcome, self.clock(), verified=True)
            log.warning(
                "case=%d %s: recovered as %s", c.case.number, step.target.platform, outcome.status
            )

    async def lift(self, case: Case) -> None:
        """A temporary action whose time is up: undo it where the platform does not."""
        lines = []
        for step in case.steps:
            if step.status != "done":
                continue
            actor = self.actors.get((step.target.platform, step.target.community))
            if actor is None:
                return  # another collector holds this platform's token: it lifts
            if step.lifts_itself:
                lines.append(f"{step.target.platform}: lifted by the platform")
                continue
            undo = LIFT.get(case.action)
            if undo is None:
                continue
            call = replace(
                case.call(step),
                action=undo,
                until=None,
                slowmode_seconds=0 if undo == "slowmode" else None,
                reason=f"case {case.number} expired",
            )
            try:
                outcome = await actor.perform(call)
            except Exception as exc:
                outcome = ActionOutcome("unknown", f"{type(exc).__name__}: {exc}")
            if outcome.status != "done":
                await self.repo.add_event(
                    case.number,
                    "failed",
                    self.holder,
                    f"{step.target.platform}: lifting failed: {outcome.detail}",
                    self.clock(),
                )
                self._lift_after[case.number] = time.monotonic() + 60  # tried again later
                return
            lines.append(f"{step.target.platform}: {outcome.detail}")
        await self.repo.close(case.number, "expired", self.holder, "; ".join(lines), self.clock())
