"""JSON case -> `Case`, strictly: unknown fields, bad values and dangling references are all
reported with their JSON path in one `CaseError`."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from compliance.policy.case import (
    Address,
    Attorney,
    AutodialConsent,
    Case,
    Consent,
    Debt,
    DialMode,
    Direction,
    HistoryCall,
    InconvenientTime,
    MediumRestriction,
    Notice,
    NoticeType,
    Outcome,
    Party,
    Person,
    Phone,
    PhoneType,
    Place,
    ProposedCall,
    ReassignedCheck,
    ReassignedResult,
    Weekday,
)
from compliance.policy.fields import Fields, Problem, read_object


class CaseError(ValueError):
    """A malformed case. `problems` holds (JSON path, message) for every bad field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


def parse_case(document: object) -> Case:
    problems: list[Problem] = []
    case = read_object(document, "", problems, _case)
    if case is None or problems:
        raise CaseError(problems or [("$", "malformed case")])
    _check_references(case, problems)
    if problems:
        raise CaseError(problems)
    return case


def _case(fields: Fields) -> Case | None:
    policy = fields.text("policy", required=False)
    person = fields.nested("person", _person)
    debts = [
        read_object(item, path, fields.problems, _debt) for path, item in fields.items("debts", required=True)
    ]
    phones = [
        read_object(item, path, fields.problems, _phone)
        for path, item in fields.items("phones", required=True)
    ]
    consents = [read_object(item, path, fields.problems, _consent) for path, item in fields.items("consents")]
    history = [read_object(item, path, fields.problems, _history) for path, item in fields.items("history")]
    call = fields.nested("call", _call)
    if person is None or call is None:
        return None
    return Case(
        person=person,
        debts=tuple(debt for debt in debts if debt is not None),
        phones=tuple(phone for phone in phones if phone is not None),
        call=call,
        consents=tuple(consent for consent in consents if consent is not None),
        history=tuple(entry for entry in history if entry is not None),
        policy=policy,
    )


def _person(fields: Fields) -> Person | None:
    person_id = fields.text("id")
    address = fields.nested("address", _address, required=False)
    zones = fields.texts("time_zones", required=False) or []
    for index, zone in enumerate(zones):
        if not _is_zone(zone):
            fields.problems.append(
                (f"{fields.path}.time_zones[{index}]", f"{zone!r} is not an IANA time zone")
            )
    problems = fields.problems
    inconvenient = [read_object(v, p, problems, _inconvenient) for p, v in fields.items("inconvenient_times")]
    attorney = fields.nested("attorney", _attorney, required=False)
    notices = [read_object(v, p, problems, _notice) for p, v in fields.items("notices")]
    restrictions = [read_object(v, p, problems, _restriction) for p, v in fields.items("medium_restrictions")]
    if person_id is None:
        return None
    return Person(
        id=person_id,
        address=address,
        time_zones=tuple(zones),
        inconvenient_times=tuple(item for item in inconvenient if item is not None),
        attorney=attorney,
        notices=tuple(item for item in notices if item is not None),
        medium_restrictions=tuple(item for item in restrictions if item is not None),
    )


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _address(fields: Fields) -> Address | None:
    country = fields.text("country")
    state = fields.text("state", required=False, nullable=True)
    postal_code = fields.text("postal_code", required=False, nullable=True)
    city = fields.text("city", required=False, nullable=True)
    if country is None:
        return None
    return Address(
        country=country.upper(),
        state=state.upper() if state else None,
        postal_code=postal_code,
        city=city,
    )


def _inconvenient(fields: Fields) -> InconvenientTime | None:
    stated_at = fields.timestamp("stated_at")
    start = fields.clock("from")
    end = fields.clock("to", allow_end_of_day=True)
    day_names = fields.texts("days", required=False)
    days = [fields.member(f"days[{i}]", Weekday, name) for i, name in enumerate(day_names or [])]
    if start is not None and end is not None and start == end:
        fields.problem("to", "the period is empty: 'to' equals 'from'")
        return None
    if stated_at is None or start is None or end is None or None in days:
        return None
    chosen = (
        frozenset(day for day in days if day is not None) if day_names is not None else frozenset(Weekday)
    )
    if not chosen:
        fields.problem("days", "must name at least one day (omit it for every day)")
        return None
    return InconvenientTime(stated_at=stated_at, start_minute=start, end_minute=end, days=chosen)


def _debt_ids(fields: Fields, *, required: bool) -> frozenset[str] | None:
    ids = fields.texts("debt_ids", required=required, nullable=not required)
    if ids is None:
        return None
    if not ids:
        hint = "" if required else " (omit it to cover every debt)"
        fields.problem("debt_ids", f"must not be empty{hint}")
        return None
    return frozenset(ids)


def _attorney(fields: Fields) -> Attorney | None:
    since = fields.timestamp("since")
    debt_ids = _debt_ids(fields, required=False)
    return None if since is None else Attorney(since=since, debt_ids=debt_ids)


def _notice(fields: Fields) -> Notice | None:
    notice_type = fields.choice("type", NoticeType)
    received_at = fields.timestamp("received_at")
    debt_ids = _debt_ids(fields, required=False)
    resolved_at = fields.timestamp("resolved_at", required=False, nullable=True)
    if notice_type is None or received_at is None:
        return None
    if resolved_at is not None and resolved_at < received_at:
        fields.problem("resolved_at", "is before received_at")
        return None
    return Notice(type=notice_type, received_at=received_at, debt_ids=debt_ids, resolved_at=resolved_at)


def _restriction(fields: Fields) -> MediumRestriction | None:
    requested_at = fields.timestamp("requested_at")
    number = _number(fields, "number", required=False)
    place = fields.choice("place", Place, required=False, nullable=True)
    if requested_at is None:
        return None
    return MediumRestriction(requested_at=requested_at, number=number, place=place)


def _number(fields: Fields, key: str, *, required: bool = True) -> str | None:
    value = fields.text(key, required=required, nullable=not required)
    if value is None:
        return None
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        fields.problem(key, f"{value!r} is not a phone number in E.164 form (+ and digits)")
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _debt(fields: Fields) -> Debt | None:
    debt_id = fields.text("id")
    kind = fields.text("kind")
    account = fields.text("student_loan_account", required=False, nullable=True)
    if debt_id is None or kind is None:
        return None
    return Debt(id=debt_id, kind=kind, student_loan_account=account)


def _autodial_consent(fields: Fields) -> AutodialConsent | None:
    given_at = fields.timestamp("given_at")
    revoked_at = fields.timestamp("revoked_at", required=False, nullable=True)
    return None if given_at is None else AutodialConsent(given_at=given_at, revoked_at=revoked_at)


def _reassigned(fields: Fields) -> ReassignedCheck | None:
    checked_at = fields.timestamp("checked_at")
    result = fields.choice("result", ReassignedResult)
    if checked_at is None or result is None:
        return None
    return ReassignedCheck(checked_at=checked_at, result=result)


def _phone(fields: Fields) -> Phone | None:
    number = _number(fields, "number")
    phone_type = fields.choice("type", PhoneType)
    consent = fields.nested("autodial_consent", _autodial_consent, required=False)
    check = fields.nested("reassigned_check", _reassigned, required=False)
    if number is None or phone_type is None:
        return None
    return Phone(number=number, type=phone_type, autodial_consent=consent, reassigned_check=check)


def _consent(fields: Fields) -> Consent | None:
    given_at = fields.timestamp("given_at")
    debt_ids = _debt_ids(fields, required=True)
    if given_at is None or debt_ids is None:
        return None
    return Consent(given_at=given_at, debt_ids=debt_ids)


def _history(fields: Fields) -> HistoryCall | None:
    at = fields.timestamp("at")
    direction = fields.choice("direction", Direction)
    number = _number(fields, "number")
    debt_ids = _debt_ids(fields, required=True)
    party = fields.choice("party", Party)
    outcome = fields.choice("outcome", Outcome)
    mode = fields.choice("mode", DialMode, required=False, nullable=True)
    if (
        at is None
        or direction is None
        or number is None
        or debt_ids is None
        or party is None
        or outcome is None
    ):
        return None
    return HistoryCall(
        at=at, direction=direction, number=number, debt_ids=debt_ids, party=party, outcome=outcome, mode=mode
    )


def _call(fields: Fields) -> ProposedCall | None:
    at = fields.timestamp("at")
    number = _number(fields, "number")
    debt_ids = _debt_ids(fields, required=True)
    mode = fields.choice("mode", DialMode)
    party = fields.choice("party", Party, required=False) or Party.CONSUMER
    if at is None or number is None or debt_ids is None or mode is None:
        return None
    return ProposedCall(at=at, number=number, debt_ids=debt_ids, mode=mode, party=party)


def _check_references(case: Case, problems: list[Problem]) -> None:
    """Debt ids and the dialed number must name things the case declares."""
    debt_ids = [debt.id for debt in case.debts]
    numbers = [phone.number for phone in case.phones]
    for index, debt_id in enumerate(debt_ids):
        if debt_ids.index(debt_id) != index:
            problems.append((f"debts[{index}].id", f"duplicate debt id {debt_id!r}"))
    for index, number in enumerate(numbers):
        if numbers.index(number) != index:
            problems.append((f"phones[{index}].number", f"duplicate phone {number!r}"))
    if not case.debts:
        problems.append(("debts", "must list at least one debt"))
    if case.call.number not in numbers:
        problems.append(("call.number", f"{case.call.number} is not one of the person's phones"))

    known = set(debt_ids)
    references: list[tuple[str, frozenset[str] | None]] = [("call", case.call.debt_ids)]
    if case.person.attorney is not None:
        references.append(("person.attorney", case.person.attorney.debt_ids))
    references += [(f"person.notices[{i}]", notice.debt_ids) for i, notice in enumerate(case.person.notices)]
    references += [(f"consents[{i}]", consent.debt_ids) for i, consent in enumerate(case.consents)]
    references += [(f"history[{i}]", entry.debt_ids) for i, entry in enumerate(case.history)]
    for path, ids in references:
        for debt_id in sorted((ids or frozenset()) - known):
            problems.append((f"{path}.debt_ids", f"unknown debt {debt_id!r}"))
