"""The alert sections of cockpit.toml: `[[rules]]`, `[[receivers]]` and `[alerting]`.

Validated by pydantic so a bad rule names its key and line (cockpit/config.py does that part).
Durations are written as in the rest of the cockpit: "10s", "5m", "2h", "7d".
"""

from __future__ import annotations

import re
from datetime import time as dtime
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from cockpit.timeutil import parse_duration, zone

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


RULE_DO = ("delete", "timeout", "ban", "kick", "warn")  # what a rule may do to what it found


class RuleAction(_Model):
    """One action a rule carries, applied to what its alert points at: `delete` its
    messages; `timeout`, `ban`, `kick`, `warn` their authors."""

    do: Literal["delete", "timeout", "ban", "kick", "warn"]
    for_: Duration | None = Field(default=None, alias="for")
    text: str | None = Field(None, min_length=1, max_length=1000)  # what a warn says

    @model_validator(mode="after")
    def _fits(self) -> RuleAction:
        if self.do == "timeout" and self.for_ is None:
            raise ValueError('a timeout needs `for` (e.g. for = "1h")')
        if self.for_ is not None:
            if self.do not in ("timeout", "ban"):
                raise ValueError(f"`for` does not apply to {self.do}")
            if self.for_ <= timedelta(0):
                raise ValueError("`for` must be a positive duration")
        if self.text is not None and self.do != "warn":
            raise ValueError("`text` is what a warn says; it does not apply to " + self.do)
        return self


class AutoCap(_Model):
    """At most `count` platform actions taken automatically `within` a window; past it,
    further actions wait as proposals and someone is paged."""

    count: int = Field(ge=1, le=100_000)
    within: Duration

    @field_validator("within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("within must be a positive duration")
        return value


class _RuleBase(_Model):
    """What every rule kind shares: identity, scope, exclusions and lifecycle."""

    name: str = Field(min_length=1, max_length=80)
    severity: Severity = "warning"
    for_: Duration = Field(default=timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    communities: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    exclude_bots: bool = True
    exclude_staff: bool = False
    notify: list[str] = Field(default_factory=lambda: ["oncall"])
    enabled: bool = True
    runbook: str | None = Field(None, max_length=500)  # what to do, quoted in every page
    # what the rule does about it: proposed to on-call (the default), run at once ("auto",
    # capped, never on protected members) or only recorded ("dry-run")
    actions: list[RuleAction] = Field(default_factory=list, max_length=5)
    mode: Literal["propose", "auto", "dry-run"] = "propose"
    auto_cap: AutoCap | None = None  # this rule's own cap, beside [moderation] auto_cap

    @model_validator(mode="after")
    def _actionable(self) -> _RuleBase:
        kind = getattr(self, "kind", "")
        if self.actions and kind in NOT_ACTIONABLE:
            raise ValueError(f"a {kind} rule points at no one to act on: `actions` do not apply")
        return self

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not LABEL_NAME.match(key):
                raise ValueError(f"label name {key!r}: letters, digits and _ only")
            if key in ("alertname", "severity"):
                raise ValueError(f"label {key!r} is set by the rule itself")
        return value


NOT_ACTIONABLE = frozenset({"unanswered", "volume", "sentiment", "quiet_core", "source"})
Context = Literal["link", "new_account", "wallet", "dm_lure"]


class KeywordRule(_RuleBase):
    """Words, phrases and regular expressions watched in message text.

    Each alert is about one trigger: one term by one author in one place (`per` says which
    place: channel, community, or the author anywhere); notifications are what is grouped.
    With `context`, a term counts only in a message that also shows one of these cues (a
    link, a new account, a wallet address or lure, an invitation to DM): a scam, not a
    support question. A message holding an `allow` phrase is never a hit; links to the
    `allow_links` domains (the community's own docs, say) are no cue.
    """

    kind: Literal["keyword"]
    keywords: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    case_sensitive: bool = False
    whole_words: bool = True
    per: Literal["channel", "community", "author"] = "channel"
    hold: Duration = timedelta(minutes=10)
    context: list[Context] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    allow_links: list[str] = Field(default_factory=list)  # domains whose links are no cue
    new_account_age: Duration = timedelta(days=7)

    @field_validator("keywords")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        if any(not w.strip() for w in value):
            raise ValueError("keywords must not be empty")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regex {pattern!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> KeywordRule:
        if not self.keywords and not self.regex:
            raise ValueError("a keyword rule needs `keywords` or `regex`")
        return self


class FloodRule(_RuleBase):
    """One author posting too fast: duplicates, mentions, bursts, links (0 turns a limit off)."""

    kind: Literal["flood"]
    duplicates: int = Field(3, ge=0)
    duplicates_window: Duration = timedelta(seconds=10)
    mentions: int = Field(5, ge=0)
    mentions_window: Duration = timedelta(seconds=10)
    burst: int = Field(7, ge=0)
    burst_window: Duration = timedelta(seconds=10)
    links: int = Field(4, ge=0)
    links_window: Duration = timedelta(seconds=10)
    hold: Duration = timedelta(minutes=2)


class RaidRule(_RuleBase):
    """Many joins to one community within a short window."""

    kind: Literal["raid"]
    joins: int = Field(10, ge=1)
    window: Duration = timedelta(seconds=60)
    cooldown: Duration = timedelta(minutes=10)


class CrossPlatformRule(_RuleBase):
    """The same text or link posted on several platforms within minutes."""

    kind: Literal["cross_platform"]
    window: Duration = timedelta(minutes=5)
    min_platforms: int = Field(2, ge=2)
    # copies within `window`, all platforms together: a spam wave posts many in a minute or
    # two, while people sharing a FAQ answer or docs link post a handful
    min_copies: int = Field(2, ge=2)
    min_length: int = Field(20, ge=1)
    links: bool = True
    hold: Duration = timedelta(minutes=10)


SCAM_PHRASES = [
    "airdrop", "free nitro", "claim your", "giveaway", "seed phrase", "wallet connect",
    "connect your wallet", "double your", "investment opportunity", "guaranteed profit",
    "dm me", "message me", "support team", "verify your account", "crypto signals",
]  # fmt: skip


class NewMemberRule(_RuleBase):
    """A member's first messages after joining, in the spirit of tg-spam: a link, many
    mentions, a known scam phrase, or a text also posted on another platform. Only members
    whose join was seen within `within` are screened, so regulars are never touched; the
    heavy hand (`actions`, often `mode = "auto"`) falls on fresh accounts."""

    kind: Literal["new_member"]
    first_messages: int = Field(3, ge=1, le=50)  # how many of a newcomer's messages are screened
    within: Duration = timedelta(days=1)  # after the join
    links: bool = True
    allow_links: list[str] = Field(default_factory=list)  # domains whose links are fine
    mentions: int = Field(3, ge=0)  # this many mentions in one message (0: off)
    phrases: list[str] = Field(default_factory=lambda: list(SCAM_PHRASES))
    cross_platform: bool = True  # the same text seen on another platform within 10 minutes
    min_signals: int = Field(1, ge=1, le=4)  # signals one message needs to count
    hold: Duration = timedelta(minutes=10)

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        if any(not w.strip() for w in value):
            raise ValueError("phrases must not be empty")
        return value


DEFAULT_QUESTION = (
    r"\?\s*$|^(how|what|why|when|where|who|which|can|could|does|do|is|are|anyone|any)\b"
)


class UnansweredRule(_RuleBase):
    """A question that nobody else answered within `after`."""

    kind: Literal["unanswered"]
    after: Duration = timedelta(minutes=30)
    question: str = DEFAULT_QUESTION
    min_length: int = Field(10, ge=0)
    answered_by: Literal["reply", "any_message"] = "reply"
    max_age: Duration = timedelta(hours=24)

    @field_validator("question")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r}: {exc}") from None
        return value


class VolumeRule(_RuleBase):
    """Activity per minute far from the usual for that hour of the week."""

    kind: Literal["volume"]
    high: float = Field(4.0, gt=1)
    low: float = Field(0.2, ge=0, lt=1)
    min_baseline: float = Field(2.0, ge=0)
    min_samples: int = Field(30, ge=1)
    hold: Duration = timedelta(minutes=5)


class SentimentRule(_RuleBase):
    """The share of negative messages in a window above a threshold (VADER lexicon)."""

    kind: Literal["sentiment"]
    window: Duration = timedelta(minutes=15)
    threshold: float = Field(0.4, gt=0, le=1)
    negative_below: float = Field(-0.4, ge=-1, lt=0)
    min_messages: int = Field(10, ge=1)
    per: Literal["community", "channel"] = "community"


class QuietCoreRule(_RuleBase):
    """A member who was among the most active over `lookback` and has not been seen for `quiet_for`."""

    kind: Literal["quiet_core"]
    top: int = Field(20, ge=1)
    min_activities: int = Field(50, ge=1)
    lookback: Duration = timedelta(days=90)
    quiet_for: Duration = timedelta(days=14)


class SourceRule(_RuleBase):
    """A source of `cockpit collect` in trouble: in one of `states` (by default failing), or,
    with `silent_for`, its newest activity older than that (quiet, stuck or far behind).
    Judged at each evaluation from the health the collector stores; `for` as usual."""

    kind: Literal["source"]
    sources: list[str] = Field(default_factory=list)  # source names; none: every source
    states: tuple[Literal["failing", "lagging", "stopped"], ...] = ("failing",)
    silent_for: Duration | None = None

    @field_validator("silent_for")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("silent_for must be a positive duration")
        return value


Rule = Annotated[
    KeywordRule
    | FloodRule
    | RaidRule
    | CrossPlatformRule
    | UnansweredRule
    | VolumeRule
    | SentimentRule
    | QuietCoreRule
    | SourceRule
    | NewMemberRule,
    Field(discriminator="kind"),
]
# the union above is the one list of rule kinds: everything else is derived from it
RULE_CLASSES: tuple[type[BaseModel], ...] = get_args(get_args(Rule)[0])
RULE_KINDS: tuple[str, ...] = tuple(
    get_args(cls.model_fields["kind"].annotation)[0] for cls in RULE_CLASSES
)


def _unique_names(rules: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValueError(f"rule name {rule.name!r} is used twice")
        seen.add(rule.name)
    return rules


class QuietHours(_Model):
    """Hold notifications between `start` and `end` local time; `critical` can break through."""

    start: dtime
    end: dtime
    timezone: str
    allow: tuple[Severity, ...] = ("critical",)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value


class Receiver(_Model):
    """Where notifications go: apprise URLs (any apprise service), chosen by tags."""

    name: str = Field(min_length=1)
    urls: list[str] = Field(min_length=1)
    tags: list[str] = Field(default_factory=lambda: ["oncall"])
    send_resolved: bool = True
    quiet_hours: QuietHours | None = None
    escalate_to: str | None = None
    escalate_after: Duration = timedelta(minutes=30)
    timezone: str = "UTC"  # times in pages are written in this zone

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        zone(value)
        return value


def _receivers(value: list[Receiver]) -> list[Receiver]:
    names = set()
    for r in value:
        if r.name in names:
            raise ValueError(f"receiver name {r.name!r} is used twice")
        names.add(r.name)
    for r in value:
        if r.escalate_to is not None and r.escalate_to not in names:
            raise ValueError(
                f"receiver {r.name!r}: escalate_to {r.escalate_to!r} is not a receiver"
            )
        if r.escalate_to == r.name:
            raise ValueError(f"receiver {r.name!r} cannot escalate to itself")
    return value


class AlertingSettings(_Model):
    """Alertmanager's grouping and timing defaults, plus who counts as staff."""

    group_by: list[str] = Field(default_factory=lambda: ["alertname", "community"])
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)
    resolved_retention: Duration = timedelta(days=7)
    staff: list[str] = Field(default_factory=list)
    evaluation_interval: Duration = timedelta(seconds=1)
    warmup: Duration = timedelta(days=1)
    max_attempts: int = Field(12, ge=1)
    retry_backoff: Duration = timedelta(seconds=2)
    max_backoff: Duration = timedelta(minutes=10)


def _untagged(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Drop the rule kind pydantic puts in error paths (rules[0].raid.joins -> rules[0].joins),
    so the error names the key as written and its line can be found."""
    try:
        return handler(value)
    except ValidationError as exc:
        details: list[InitErrorDetails] = []
        for err in exc.errors():
            loc = tuple(
                part for i, part in enumerate(err["loc"]) if not (i == 1 and part in RULE_KINDS)
            )
            detail: InitErrorDetails = {"type": err["type"], "loc": loc, "input": err["input"]}
            if "ctx" in err:
                detail["ctx"] = err["ctx"]
            details.append(detail)
        try:
            rebuilt = ValidationError.from_exception_data(exc.title, details)
        except Exception:
            raise exc from None
        raise rebuilt from None


RuleList = Annotated[list[Rule], AfterValidator(_unique_names), WrapValidator(_untagged)]
ReceiverList = Annotated[list[Receiver], AfterValidator(_receivers)]

SECTIONS: dict[str, TypeAdapter[Any]] = {
    "rules": TypeAdapter(RuleList),
    "receivers": TypeAdapter(ReceiverList),
    "alerting": TypeAdapter(AlertingSettings),
}

AnyRule = (
    KeywordRule
    | FloodRule
    | RaidRule
    | CrossPlatformRule
    | UnansweredRule
    | VolumeRule
    | SentimentRule
    | QuietCoreRule
    | SourceRule
    | NewMemberRule
)


def parse_rules(data: list[dict[str, Any]]) -> list[AnyRule]:
    """Rules from plain data (a rule test file embeds its own)."""
    rules: list[AnyRule] = SECTIONS["rules"].validate_python(data)
    return rules
