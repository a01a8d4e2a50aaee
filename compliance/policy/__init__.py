"""The contact-policy rules engine: pure functions from a case and a policy to a verdict.

Read a case with `parse_case` (a `CaseError` lists every bad field with its JSON path), pick
its policy with `load_policy(case.policy or DEFAULT_POLICY)`, then `evaluate(case, policy)`.
"""

from compliance.policy.canonical import canonical_json, case_to_json, inputs_digest
from compliance.policy.case import Case
from compliance.policy.engine import RuleResult, Verdict, evaluate
from compliance.policy.geography import candidate_zones
from compliance.policy.parsing import CaseError, parse_case
from compliance.policy.policy import DEFAULT_POLICY, Policy, PolicyError, UnknownPolicyError, load_policy

__all__ = [
    "DEFAULT_POLICY",
    "Case",
    "CaseError",
    "Policy",
    "PolicyError",
    "RuleResult",
    "UnknownPolicyError",
    "Verdict",
    "candidate_zones",
    "canonical_json",
    "case_to_json",
    "evaluate",
    "inputs_digest",
    "load_policy",
    "parse_case",
]
