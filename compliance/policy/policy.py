"""Policies are data: `data/policies/NAME.toml` names a version and its rules in checklist
order, each rule a kind of check with its parameters and citation; `data/overlays/*.toml` add
the rules of a state or city to the policies they extend, applied when the person's address is
there, each rule in force only between its dates. Rule kinds are the only code."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from compliance.policy.bars import AttorneyBar, MediumBar, NoticeBar
from compliance.policy.case import Address, Case
from compliance.policy.facts import Check
from compliance.policy.fields import Fields, Problem, read_object
from compliance.policy.frequency import CallCap, ConversationPause, RepeatPause
from compliance.policy.geography import address_county
from compliance.policy.hours import InconvenientTimes, LocalHours
from compliance.policy.telephony import ReassignedNumber, WirelessConsent

DEFAULT_POLICY = "us-federal"

Reader = Callable[[Fields, str, str], Check | None]

# Kind -> (reader, stage). Stages follow the checklist in the regulations notes: hard bars,
# medium, time of day, conversation prong, call caps (federal before state), TCPA, pacing.
KINDS: dict[str, tuple[Reader, int]] = {
    "notice_bar": (NoticeBar.read, 1),
    "attorney_bar": (AttorneyBar.read, 1),
    "medium_restriction": (MediumBar.read, 2),
    "local_hours": (LocalHours.read, 3),
    "inconvenient_times": (InconvenientTimes.read, 3),
    "conversation_pause": (ConversationPause.read, 4),
    "call_cap": (CallCap.read, 5),
    "wireless_consent": (WirelessConsent.read, 6),
    "reassigned_number": (ReassignedNumber.read, 6),
    "repeat_pause": (RepeatPause.read, 7),
}


class PolicyError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


class UnknownPolicyError(LookupError):
    pass


@dataclass(frozen=True)
class Rule:
    check: Check
    stage: int
    in_force_from: datetime | None = None
    in_force_until: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        started = self.in_force_from is None or self.in_force_from <= at
        return started and (self.in_force_until is None or at < self.in_force_until)

    @property
    def changes(self) -> tuple[datetime, ...]:
        return tuple(moment for moment in (self.in_force_from, self.in_force_until) if moment is not None)


@dataclass(frozen=True)
class Jurisdiction:
    country: str
    state: str | None
    cities: frozenset[str]
    counties: frozenset[str]

    def covers(self, address: Address | None) -> bool:
        if address is None or address.country != self.country:
            return False
        if self.state is not None and address.state != self.state:
            return False
        if not self.cities and not self.counties:
            return True
        in_city = address.city is not None and address.city.casefold() in self.cities
        return in_city or address_county(address) in self.counties


@dataclass(frozen=True)
class Overlay:
    name: str
    version: str
    extends: frozenset[str]
    jurisdiction: Jurisdiction
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    description: str
    rules: tuple[Rule, ...]
    overlays: tuple[Overlay, ...] = ()

    def overlays_for(self, case: Case) -> tuple[Overlay, ...]:
        return tuple(overlay for overlay in self.overlays if overlay.jurisdiction.covers(case.person.address))

    def rules_for(self, case: Case) -> tuple[Rule, ...]:
        """The base rules and those of every overlay covering the person's address, in
        checklist order (a stable sort keeps the data's order inside a stage)."""
        rules = [*self.rules, *(rule for overlay in self.overlays_for(case) for rule in overlay.rules)]
        return tuple(sorted(rules, key=lambda rule: rule.stage))

    def version_for(self, case: Case) -> str:
        """The exact rule set a verdict used, for the audit record: "us-federal@v+us-ma@v"."""
        parts = [f"{self.name}@{self.version}"]
        parts += [f"{overlay.name}@{overlay.version}" for overlay in self.overlays_for(case)]
        return "+".join(parts)


def _rule(fields: Fields, defaults: tuple[datetime | None, datetime | None]) -> Rule | None:
    rule_id = fields.text("id")
    kind = fields.text("check")
    citation = fields.text("citation")
    in_force_from = fields.timestamp("in_force_from", required=False) or defaults[0]
    in_force_until = fields.timestamp("in_force_until", required=False) or defaults[1]
    if kind is not None and kind not in KINDS:
        fields.problem("check", f"unknown check {kind!r}; known: {', '.join(sorted(KINDS))}")
        return None
    if rule_id is None or kind is None or citation is None:
        return None
    reader, stage = KINDS[kind]
    check = reader(fields, rule_id, citation)
    if check is None:
        return None
    return Rule(check=check, stage=stage, in_force_from=in_force_from, in_force_until=in_force_until)


def _rules(
    fields: Fields, defaults: tuple[datetime | None, datetime | None] = (None, None)
) -> tuple[Rule, ...]:
    rules = [
        read_object(table, path, fields.problems, lambda f: _rule(f, defaults))
        for path, table in fields.items("rules", required=True)
    ]
    return tuple(rule for rule in rules if rule is not None)


def _policy(fields: Fields) -> Policy | None:
    name = fields.text("name")
    version = fields.text("version")
    description = fields.text("description")
    rules = _rules(fields)
    if name is None or version is None or description is None:
        return None
    return Policy(name=name, version=version, description=description, rules=rules)


def _jurisdiction(fields: Fields) -> Jurisdiction | None:
    country = fields.text("country")
    state = fields.text("state", required=False)
    cities = fields.texts("cities", required=False) or []
    counties = fields.texts("counties", required=False) or []
    if country is None:
        return None
    return Jurisdiction(country, state, frozenset(city.casefold() for city in cities), frozenset(counties))


def _overlay(fields: Fields) -> Overlay | None:
    name = fields.text("name")
    version = fields.text("version")
    extends = fields.texts("extends")
    jurisdiction = fields.nested("jurisdiction", _jurisdiction)
    in_force = (
        fields.timestamp("in_force_from", required=False),
        fields.timestamp("in_force_until", required=False),
    )
    rules = _rules(fields, in_force)
    if name is None or version is None or not extends or jurisdiction is None:
        return None
    return Overlay(
        name=name, version=version, extends=frozenset(extends), jurisdiction=jurisdiction, rules=rules
    )


def _data_files(folder: str) -> dict[str, str]:
    directory = resources.files("compliance.policy").joinpath("data").joinpath(folder)
    return {
        entry.name.removesuffix(".toml"): entry.read_text(encoding="utf-8")
        for entry in directory.iterdir()
        if entry.name.endswith(".toml")
    }


def _load(text: str, file_name: str, read: Callable[[Fields], object], problems: list[Problem]) -> object:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        problems.append((file_name, f"not valid TOML: {error}"))
        return None
    return read_object(document, file_name, problems, read)


def parse_policies(policies: dict[str, str], overlays: dict[str, str]) -> dict[str, Policy]:
    """Read and cross-check policy and overlay documents (file stem -> TOML text)."""
    problems: list[Problem] = []
    loaded: dict[str, Policy] = {}
    for stem, text in sorted(policies.items()):
        policy = _load(text, f"policies/{stem}.toml", _policy, problems)
        if isinstance(policy, Policy):
            if policy.name != stem:
                problems.append((f"policies/{stem}.toml.name", f"must match the file name {stem!r}"))
            loaded[policy.name] = policy
    extra: dict[str, list[Overlay]] = {name: [] for name in loaded}
    for stem, text in sorted(overlays.items()):
        overlay = _load(text, f"overlays/{stem}.toml", _overlay, problems)
        if isinstance(overlay, Overlay):
            for base in sorted(overlay.extends):
                if base in extra:
                    extra[base].append(overlay)
                else:
                    problems.append((f"overlays/{stem}.toml.extends", f"no policy named {base!r}"))
    result = {}
    for name, policy in loaded.items():
        combined = Policy(policy.name, policy.version, policy.description, policy.rules, tuple(extra[name]))
        ids = [
            rule.check.rule_id for rule in (*combined.rules, *(r for o in combined.overlays for r in o.rules))
        ]
        for duplicate in sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1}):
            problems.append((f"policies/{name}.toml", f"rule id {duplicate!r} is used more than once"))
        result[name] = combined
    if problems:
        raise PolicyError(problems)
    return result


@cache
def shipped_policies() -> dict[str, Policy]:
    """The policies shipped in `compliance/policy/data`, validated once per process."""
    return parse_policies(_data_files("policies"), _data_files("overlays"))


def load_policy(name: str) -> Policy:
    policies = shipped_policies()
    if name not in policies:
        raise UnknownPolicyError(f"unknown policy {name!r}; known: {', '.join(sorted(policies))}")
    return policies[name]
