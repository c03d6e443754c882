"""The rule engine: events in, alerts with Prometheus' lifecycle out.

`observe` is the hot path (every activity): one matcher pass for all keyword rules, then
the windowed detectors interested in that kind. `evaluate(now)` runs the lifecycle: a
condition that appears makes a pending alert, firing once it has held for `for`; an alert
whose condition is gone resolves after `keep_firing_for`. Pure and synchronous, time only
from the injected clock: the same events and instants give the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cockpit.alerts.config import AlertingSettings, AnyRule, KeywordRule
from cockpit.alerts.detectors import Detector, KeywordDetector, Staff, make_detector, ms
from cockpit.alerts.events import Condition, Event, fingerprint
from cockpit.alerts.matcher import KeywordMatcher, match_many
from cockpit.model import Kind
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
        self._by_kind: dict[Kind, list[Detector]] = {
            kind: [
                d for d in self.detectors if kind in d.kinds and not isinstance(d, KeywordDetector)
            ]
            for kind in Kind
        }
        self._timed = [d for d in self.detectors if type(d).tick is not Detector.tick]
        self.alerts: dict[str, Alert] = {}
        self._keys: dict[str, tuple[Detector, tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ hot path

    def observe(self, ev: Event) -> None:
        kind = ev.kind
        if kind is Kind.MESSAGE and self._matcher is not None and ev.text:
            hits = self._matcher.match(ev.text)
            if hits:
                for index, term in hits.items():
                    self._keyword[index].hit_word(ev, term)
        for detector in self._by_kind[kind]:
            detector.observe(ev)

    def observe_many(self, events: Sequence[Event]) -> None:
        """A batch (a commit's rows): keyword rules are matched for the whole batch in one pass."""
        if self._matcher is None:
            for ev in events:
                self.observe(ev)
            return
        message = Kind.MESSAGE
        texts = [ev.text if ev.kind is message else "" for ev in events]
        hits = match_many(self._matcher, texts)
        by_kind, keyword = self._by_kind, self._keyword
        for position, ev in enumerate(events):
            found = hits.get(position)
            if found is not None:
                for index, term in found.items():
                    keyword[index].hit_word(ev, term)
            for detector in by_kind[ev.kind]:
                detector.observe(ev)

    # ----------------------------------------------------------------- lifecycle

    def evaluate(self, now: int | None = None) -> list[Alert]:
        """Advance every alert to `now`; returns the alerts that changed (new, firing, resolved,
        or with new evidence). Alerts returned as `inactive` were pending and are dropped."""
        now = self.clock() if now is None else now
        changed: list[Alert] = []
        seen: set[str] = set()
        for detector in self._timed:
            detector.tick(now)
        for detector in self.detectors:
            if not detector.conditions:
                continue
            rule = detector.rule
            for key, cond in detector.active(now):
                alert = self._alert_for(detector, key, cond, now)
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
        rule = next((r for r in self.rules if r.name == alert.rule), None)
        return ms(rule.keep_firing_for) if rule is not None else 0

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
        fp = fingerprint(labels)
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
        if cond.ids != alert.ids or cond.summary != alert.summary or cond.count != alert.count:
            alert.ids = list(cond.ids)
            alert.summary = cond.summary
            alert.count = cond.count
            alert.value = cond.value
            alert.annotations = {
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
    """`{label}`, `{value}`, `{count}` and `{summary}` in annotations; unknown names stay as written."""
    if "{" not in template:
        return template
    values = {
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
