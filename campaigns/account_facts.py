"""Account facts for the dial gate, read from the account tables inside the gate's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Address, Debt, DebtStatus, Person, Phone, PhoneStatus
from compliance.gate import AccountFacts, DebtFacts, PhoneFacts
from compliance.policy import case as model


class UnknownPersonError(LookupError):
    pass


def load_account_facts(session: Session, person_ids: Sequence[int]) -> dict[int, AccountFacts]:
    """The gate's account facts of each person: current address, open debts, active phones."""
    persons = {
        person.id: person for person in session.scalars(sa.select(Person).where(Person.id.in_(person_ids)))
    }
    missing = set(person_ids) - persons.keys()
    if missing:
        raise UnknownPersonError(f"no person with id {', '.join(map(str, sorted(missing)))}")
    addresses: dict[int, model.Address] = {}
    for address in session.scalars(
        sa.select(Address)
        .where(Address.person_id.in_(person_ids), Address.is_current.is_(True))
        .order_by(Address.id)
    ):  # the newest current address wins
        addresses[address.person_id] = model.Address(
            country=address.country, state=address.state, postal_code=address.postal_code, city=address.city
        )
    debts = defaultdict(list)
    for debt in session.scalars(
        sa.select(Debt).where(Debt.person_id.in_(person_ids), Debt.status == DebtStatus.OPEN)
    ):
        debts[debt.person_id].append(
            DebtFacts(id=debt.id, kind=debt.kind.value, student_loan_account=debt.student_loan_account)
        )
    phones = defaultdict(list)
    for phone in session.scalars(
        sa.select(Phone).where(Phone.person_id.in_(person_ids), Phone.status == PhoneStatus.ACTIVE)
    ):
        phones[phone.person_id].append(
            PhoneFacts(
                number=phone.number,
                type=phone.type.value,
                consent_given_at=phone.consent_given_at,
                consent_revoked_at=phone.consent_revoked_at,
                reassigned_checked_at=phone.reassigned_checked_at,
                reassigned_result=phone.reassigned_result,
            )
        )
    return {
        person_id: AccountFacts(
            person_id=person_id,
            client_id=person.client_id,
            address=addresses.get(person_id),
            extra_time_zones=tuple(person.extra_time_zones or ()),
            debts=tuple(debts[person_id]),
            phones=tuple(phones[person_id]),
        )
        for person_id, person in persons.items()
    }
