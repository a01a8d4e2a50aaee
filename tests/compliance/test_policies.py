"""Policies are validated data: every shipped file loads, and a broken one is refused with the
file and field named."""

from __future__ import annotations

import pytest

from compliance.policy import PolicyError, UnknownPolicyError, load_policy
from compliance.policy.policy import parse_policies, shipped_policies

BASE = """
name = "base"
version = "1"
description = "test"

[[rules]]
id = "hours"
check = "local_hours"
citation = "12 CFR 1006.6(b)(1)(i)"
start = "08:00"
end = "21:00"
"""

OVERLAY = """
name = "state"
version = "1"
extends = ["base"]
[jurisdiction]
country = "US"
state = "MA"
[[rules]]
id = "cap"
check = "call_cap"
citation = "940 CMR 7.04(1)(f)"
max_calls = 2
window_days = 7
per = "particular_debt"
consent_window_days = 0
"""


def refusals(policies: dict[str, str], overlays: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policies(policies, overlays or {})
    return caught.value.problems


def test_shipped_policies_load_with_versions_and_stable_ids() -> None:
    policies = shipped_policies()
    assert set(policies) == {"us-federal", "uk"}
    federal = load_policy("us-federal")
    assert federal.version
    assert {overlay.name for overlay in federal.overlays} == {"us-ma", "us-wa", "us-nyc"}
    ids = [rule.check.rule_id for rule in federal.rules]
    assert ids[:2] == ["regf.cease.written_notice", "regf.attorney.represented"]
    assert all(rule.check.citation for rule in federal.rules)


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(UnknownPolicyError, match="known: uk, us-federal"):
        load_policy("us-fedral")


def test_a_valid_pair_loads() -> None:
    policies = parse_policies({"base": BASE}, {"state": OVERLAY})
    assert [overlay.name for overlay in policies["base"].overlays] == ["state"]


BROKEN = [
    (
        "unknown check kind",
        BASE.replace('"local_hours"', '"local_hour"'),
        "policies/base.toml.rules[0].check",
        "unknown check",
    ),
    (
        "misspelt parameter",
        BASE.replace("start =", "begin ="),
        "policies/base.toml.rules[0].begin",
        "unknown field",
    ),
    (
        "missing citation",
        BASE.replace('citation = "12 CFR 1006.6(b)(1)(i)"', ""),
        "policies/base.toml.rules[0].citation",
        "missing",
    ),
    (
        "window ends before it starts",
        BASE.replace('end = "21:00"', 'end = "07:00"'),
        "policies/base.toml.rules[0].end",
        "after start",
    ),
    (
        "name differs from the file",
        BASE.replace('name = "base"', 'name = "other"'),
        "policies/base.toml.name",
        "file name",
    ),
    ("not TOML", "name = ", "policies/base.toml", "not valid TOML"),
]


@pytest.mark.parametrize(("why", "text", "path", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_policy_is_refused_with_the_field_named(
    why: str, text: str, path: str, message: str
) -> None:
    found = refusals({"base": text})
    assert any(p == path and message in m for p, m in found), found


def test_overlay_problems() -> None:
    orphan = refusals({"base": BASE}, {"state": OVERLAY.replace('["base"]', '["nowhere"]')})
    assert ("overlays/state.toml.extends", "no policy named 'nowhere'") in orphan
    clash = refusals({"base": BASE}, {"state": OVERLAY.replace('id = "cap"', 'id = "hours"')})
    assert ("policies/base.toml", "rule id 'hours' is used more than once") in clash
    bad_value = refusals(
        {"base": BASE}, {"state": OVERLAY.replace('per = "particular_debt"', 'per = "account"')}
    )
    assert any(path == "overlays/state.toml.rules[0].per" for path, _ in bad_value)
