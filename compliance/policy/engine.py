"""evaluate(case, policy) -> Verdict, and the search for the earliest allowed instant.

The search never guesses: from the call time it evaluates every rule, jumps to the latest of
the blocking rules' `lift_at` (no rule can pass before its own, and all must pass), or to the
next instant a record in the case starts to permit something if that comes first (a consent or
a resolution can change the answer), and repeats. Every jump is rounded up to a whole minute, so the
instant it returns is the first whole minute at which every rule passes: exact, and verified
by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from compliance.policy.case import Case, Direction
from compliance.policy.clock import ceil_minute
from compliance.policy.facts import Facts, Finding, passes
from compliance.policy.policy import Policy, Rule

# Beyond this a block is reported as one only an event lifts: no real rule waits longer than
# a 30-day window, and a degenerate case (zones whose windows never overlap) must stop.
HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str | None
    citation: str | None
    reason: str
    next_allowed_at: datetime | None
    evaluated: tuple[RuleResult, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "rule": self.rule,
            "citation": self.citation,
            "reason": self.reason,
            "next_allowed_at": self.next_allowed_at.isoformat() if self.next_allowed_at else None,
            "evaluated": [
                {"rule": result.rule, "passed": result.passed, "detail": result.detail}
                for result in self.evaluated
            ],
        }


def _assess(rule: Rule, facts: Facts, at: datetime) -> Finding:
    if not rule.in_force(at):
        window = f"from {rule.in_force_from.isoformat()}" if rule.in_force_from else ""
        if rule.in_force_until is not None:
            window += f" until {rule.in_force_until.isoformat()}"
        return passes(f"not in force at this time (in force {window.strip()})")
    return rule.check.assess(facts, at)


def _lifting_times(case: Case, rules: tuple[Rule, ...]) -> list[datetime]:
    """Every instant at which a record starts to permit something (a resolution, a consent,
    the person's own contact) or a rule comes into or out of force. Records that block apply
    whatever their date, so they never change over time."""
    moments: list[datetime | None] = [moment for rule in rules for moment in rule.changes]
    moments += [notice.resolved_at for notice in case.person.notices]
    moments += [consent.given_at for consent in case.consents]
    moments += [phone.autodial_consent.given_at for phone in case.phones if phone.autodial_consent]
    moments += [entry.at for entry in case.history if entry.direction is Direction.INBOUND]
    return sorted(moment.astimezone(UTC) for moment in moments if moment is not None)


class _Evaluation:
    def __init__(self, case: Case, policy: Policy) -> None:
        self.rules = policy.rules_for(case)
        self.facts = Facts.of(case)
        self.changes = _lifting_times(case, self.rules)

    def findings(self, at: datetime) -> list[tuple[Rule, Finding]]:
        return [(rule, _assess(rule, self.facts, at)) for rule in self.rules]

    def next_change(self, after: datetime) -> datetime | None:
        return next((moment for moment in self.changes if moment > after), None)

    def earliest_allowed(self, start: datetime, findings: list[tuple[Rule, Finding]]) -> datetime | None:
        """The first instant from `start` (whose findings are given) at which every rule passes."""
        at = start.astimezone(UTC)
        horizon = at + HORIZON
        while True:
            blocking = [finding for _rule, finding in findings if not finding.passed]
            if not blocking:
                return at
            lifts = [finding.lift_at for finding in blocking]
            target = None if None in lifts else max(lift for lift in lifts if lift is not None)
            change = self.next_change(at)
            if change is not None and (target is None or change < target):
                target = change
            if target is None:
                return None
            at = ceil_minute(max(target.astimezone(UTC), at + timedelta(microseconds=1)))
            if at > horizon:
                return None
            findings = self.findings(at)


def evaluate(case: Case, policy: Policy) -> Verdict:
    """Whether `case.call` is allowed at its time under `policy` (with the overlays for the
    person's address), which rule decides, and the earliest instant every rule passes."""
    evaluation = _Evaluation(case, policy)
    findings = evaluation.findings(case.call.at)
    evaluated = tuple(
        RuleResult(rule.check.rule_id, finding.passed, finding.detail) for rule, finding in findings
    )
    # Shown in the person's most specific zone, as the dialer's scheduler and an officer read it.
    zone = evaluation.facts.zones[0] if evaluation.facts.zones else None
    first_block = next(((rule, finding) for rule, finding in findings if not finding.passed), None)
    if first_block is None:
        return Verdict(
            allowed=True,
            rule=None,
            citation=None,
            reason=f"all {len(findings)} rules of {policy.version_for(case)} pass",
            next_allowed_at=case.call.at,
            evaluated=evaluated,
        )
    rule, finding = first_block
    earliest = evaluation.earliest_allowed(case.call.at, findings)
    return Verdict(
        allowed=False,
        rule=rule.check.rule_id,
        citation=rule.check.citation,
        reason=finding.detail,
        next_allowed_at=earliest.astimezone(zone) if earliest and zone else earliest,
        evaluated=evaluated,
    )
