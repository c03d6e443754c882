"""Each rule kind's detector, by the rule model's class: the one table the engine reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cockpit.alerts.config import (
    AnyRule,
    CrossPlatformRule,
    FloodRule,
    KeywordRule,
    NewMemberRule,
    QuietCoreRule,
    RaidRule,
    SentimentRule,
    SourceRule,
    UnansweredRule,
    VolumeRule,
)
from cockpit.alerts.detectors import (
    CrossPlatformDetector,
    Detector,
    FloodDetector,
    KeywordDetector,
    QuietCoreDetector,
    RaidDetector,
    SentimentDetector,
    SourceDetector,
    UnansweredDetector,
    VolumeDetector,
)
from cockpit.alerts.newcomers import NewMemberDetector
from cockpit.alerts.scope import Staff

# each rule kind's detector, by the rule model's class
DETECTORS: dict[type[AnyRule], Callable[[Any, Staff], Detector]] = {
    KeywordRule: KeywordDetector,
    FloodRule: FloodDetector,
    RaidRule: RaidDetector,
    CrossPlatformRule: CrossPlatformDetector,
    UnansweredRule: UnansweredDetector,
    VolumeRule: VolumeDetector,
    SentimentRule: SentimentDetector,
    SourceRule: SourceDetector,
    QuietCoreRule: QuietCoreDetector,
    NewMemberRule: NewMemberDetector,
}


def make_detector(rule: AnyRule, staff: Staff) -> Detector:
    return DETECTORS[type(rule)](rule, staff)
