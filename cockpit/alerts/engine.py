"""The rule engine: events in, alerts with Prometheus' lifecycle out.

`observe_many` is the hot path (every commit's activities): the batch folds its texts once,
one matcher pass finds every keyword rule's hits, then each windowed detector runs over the
events of its kinds and scope. `evaluate(now)` runs the lifecycle: a condition that appears
makes a pending alert, firing once it has held for `for`; an alert whose condition is gone
resolves after `keep_firing_for`. Pure and synchronous, time only from the injected clock:
the same events and instants give the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cockpit.alerts.batch import Batch
from cockpit.alerts.config import AlertingSettings, AnyRule, KeywordRule
from cockpit.alerts.detector_kinds import make_detector
from cockpit.alerts.detectors import (
    Detector,
    KeywordDetector,
    SourceDetector,
    ms,
)
from cockpit.alerts.events import Condition, Event, SourceState, fingerprint
from cockpit.alerts.matcher import KeywordMatcher, match_many
from cockpit.alerts.scope import Staff
from cockpit.timeutil import to_ms, utcnow

State = Literal["pending", "firing", "resolved", "inactive"]


@dataclass(slots=True)
class Alert:
    """One alert: a rule and a label set, through pending → firing → resolved."""

    fingerprint: str
    rule: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    notify: list[str]
    state: State
    active_at: int
    last_active: int
    fired_at: int | None = None
    resolved_at: int | None = None
    summary: str = ""
    value: float = 0.0
    count: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def community(self) -> str:
        return self.labels.get("community", "")


def _now_ms() -> int:
    return to_ms(utcnow())


class Engine:
    def __init__(
        self,
        rules: Sequence[AnyRule],
        settings: AlertingSettings | None = None,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.settings = settings or AlertingSettings()
        self.clock = clock
        self.rules = [r for r in rules if r.enabled]
        staff = Staff(self.settings.staff)
        self.detectors: list[Detector] = [make_detector(r, staff) for r in self.rules]
        self._keyword: dict[int, KeywordDetector] = {
            i: d for i, d in enumerate(self.detectors) if isinstance(d, KeywordDetector)
        }
        keyword_rules = [
            (i, r)
            for i, r in enumerate(self.rules)
            if isinstance(r, KeywordRule) and i in self._keyword
        ]
        matcher = KeywordMatcher(keyword_rules)
        self._matcher = None if matcher.empty else matcher
        self._windowed = [
            d for d in self.detectors if d.kinds and not isinstance(d, KeywordDetector)
        ]
        self._sources = [d for d in self.detectors if isinstance(d, SourceDetector)]
        self._keep_ms = {r.name: ms(r.keep_firing_for) for r in self.rules}
        self._timed = [d for d in self.detectors if type(d).tick is not Detector.tick]
        self.alerts: dict[str, Alert] = {}
        self._keys: dict[str, tuple[Detector, tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ hot path

    def observe(self, ev: Event) -> None:
        self.observe_many((ev,))

    def observe_many(self, events: Sequence[Event]) -> None:
        """A batch (a commit's rows), in order. Detectors keep separate state, so each runs
        over the whole batch in turn: the same as event by event, with less overhead."""
        if not events:
            return
        batch = Batch(events)
        if self._matcher is not None:
            keyword = self._keyword
            for position, found in sorted(match_many(self._matcher, batch.folded).items()):
                ev = events[position]
                for index, term in found.items():
                    keyword[index].hit_word(ev, term)
        for detector in self._windowed:
            detector.observe_many(batch)

    @property
    def time_based(self) -> bool:
        """Whether some rule changes with time alone (unanswered, volume, quiet members)."""
        return bool(self._timed)

    @property
    def watches_sources(self) -> bool:
        """Whether a rule needs the sources' health (`observe_sources` before evaluating)."""
        return bool(self._sources)

    def observe_sources(self, states: Sequence[SourceState], now: int | None = None) -> None:
        """The health of every source as the collector last stored it."""
        now = self.clock() if now is None else now
        for detector in self._sources:
            detector.see(states, now)

    # ----------------------------------------------------------------- lifecycle

    def evaluate(self, now: int | None = None) -> list[Alert]:
        """Advance every alert to `now`; returns the alerts that changed (new, firing, resolved,
        or with new evidence). Alerts returned as `inactive` were pending and are dropped."""
        now = self.clock() if now is None else now
        changed: list[Alert] = []
        seen: set[str] = set()
        for detector in self._timed:
            detector.tick(now)
        alerts = self.alerts
        for detector in self.detectors:
            if not detector.conditions:
                continue
            rule = detector.rule
            for key, cond in detector.active(now):
                # named at an earlier evaluation: no labels to merge, nothing to hash
                alert = alerts.get(cond.fingerprint) or self._alert_for(detector, key, cond, now)
                seen.add(alert.fingerprint)
                if self._update(alert, rule, cond, now):
                    changed.append(alert)
        for fp, alert in list(self.alerts.items()):
            if fp in seen:
                continue
            if alert.state == "pending":
                alert.state = "inactive"
            elif now - alert.last_active >= self._keep(alert):
                alert.state = "resolved"
                alert.resolved_at = now
            else:
                continue
            del self.alerts[fp]
            self._keys.pop(fp, None)
            changed.append(alert)
        return changed

    def _keep(self, alert: Alert) -> int:
        return self._keep_ms.get(alert.rule, 0)

    def restore(self, alert: Alert) -> None:
        """An alert still open in the store (from before a restart): it resolves unless its
        condition is found again."""
        self.alerts.setdefault(alert.fingerprint, alert)

    def _alert_for(
        self, detector: Detector, key: tuple[str, ...], cond: Condition, now: int
    ) -> Alert:
        rule = detector.rule
        labels = {
            **rule.labels,
            **cond.labels,
            "alertname": rule.name,
            "severity": rule.severity,
        }
        fp = cond.fingerprint = fingerprint(labels)
        alert = self.alerts.get(fp)
        if alert is None:
            alert = self.alerts[fp] = Alert(
                fp,
                rule.name,
                rule.severity,
                labels,
                dict(rule.annotations),
                list(rule.notify),
                "pending",
                now,
                now,
            )
            self._keys[fp] = (detector, key)
        return alert

    def _update(self, alert: Alert, rule: AnyRule, cond: Condition, now: int) -> bool:
        changed = alert.active_at == now and alert.fired_at is None and alert.state == "pending"
        alert.last_active = now
        if alert.state == "pending" and now - alert.active_at >= ms(rule.for_):
            alert.state = "firing"
            alert.fired_at = now
            changed = True
        if cond.count != alert.count or cond.summary != alert.summary or cond.ids != alert.ids:
            alert.ids = list(cond.ids)
            alert.summary = cond.summary
            alert.count = cond.count
            alert.value = cond.value
            alert.annotations = {
                **cond.notes,
                **({"runbook": rule.runbook} if rule.runbook else {}),
                **{k: _fill(v, alert.labels, cond) for k, v in rule.annotations.items()},
                "summary": _fill(rule.annotations.get("summary", ""), alert.labels, cond)
                or cond.summary,
            }
            changed = True
        return changed

    def forget(self, fp: str) -> None:
        """An operator resolved this alert: drop it and the evidence behind it."""
        self.alerts.pop(fp, None)
        found = self._keys.pop(fp, None)
        if found is not None:
            found[0].clear(found[1])


def _fill(template: str, labels: dict[str, str], cond: Condition) -> str:
    """`{label}`, `{value}`, `{count}`, `{summary}` and the detector's notes (a source's
    `{reason}`) in annotations; unknown names stay as written."""
    if "{" not in template:
        return template
    values = {
        **cond.notes,
        **labels,
        "value": f"{cond.value:g}",
        "count": str(cond.count),
        "summary": cond.summary,
    }

    class _Keep(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return template.format_map(_Keep(values))
    except (ValueError, IndexError, AttributeError):
        return template
