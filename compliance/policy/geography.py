"""Where the person may be: candidate time zones from every piece of location evidence.

Sources: the explicit zones in the case, the dialed number (area code), the address ZIP code
(or the whole state when the ZIP is missing, unknown or from another state) and, only when
nothing else is known, the country of a non-geographic number or of the address. Reference
data comes from `phonenumbers`, `zipcodes` and the tz database's own zone.tab; all of it is
static, read once and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import phonenumbers
import phonenumbers.timezone
import zipcodes

from compliance.policy.case import Address, Case

_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")
_UNKNOWN_ZONE = "Etc/Unknown"


@dataclass(frozen=True)
class ZipPlace:
    state: str
    county: str
    time_zone: str


@cache
def zip_place(postal_code: str) -> ZipPlace | None:
    match = _ZIP.match(postal_code.strip())
    if match is None:
        return None
    for record in zipcodes.matching(match.group(1)):  # type: ignore[no-untyped-call]
        if record.get("timezone"):
            return ZipPlace(state=record["state"], county=record["county"], time_zone=record["timezone"])
    return None


@cache
def state_zones(state: str) -> tuple[str, ...]:
    """Every zone any ZIP code of the state lies in (Florida and Texas have two, etc.)."""
    records = zipcodes.filter_by(state=state)  # type: ignore[no-untyped-call]
    return tuple(sorted({record["timezone"] for record in records if record["timezone"]}))


@cache
def country_zones(country: str) -> tuple[str, ...]:
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    zones = []
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone, *_comment = line.split("\t")
            if code == country:
                zones.append(zone)
    return tuple(zones)


def _number_zones(number: str) -> tuple[tuple[str, ...], bool]:
    parsed = phonenumbers.parse(number, None)
    zones = tuple(
        zone for zone in phonenumbers.timezone.time_zones_for_number(parsed) if zone != _UNKNOWN_ZONE
    )
    if phonenumbers.is_number_geographical(parsed):
        return zones, True
    region = phonenumbers.region_code_for_number(parsed)
    national = set(country_zones(region)) if region else set()
    return tuple(zone for zone in zones if zone in national) or zones, False


@cache
def number_zones(number: str) -> tuple[str, ...]:
    """Zones of a geographic number's area (NANP numbers, mobiles included, are geographic)."""
    zones, geographic = _number_zones(number)
    return zones if geographic else ()


@cache
def number_country_zones(number: str) -> tuple[str, ...]:
    """Zones of a non-geographic number (toll-free, most mobiles outside the NANP): only its
    country, so only evidence when nothing better is known."""
    zones, geographic = _number_zones(number)
    return () if geographic else zones


def address_zones(address: Address) -> tuple[str, ...]:
    if address.country != "US":
        return country_zones(address.country)
    place = zip_place(address.postal_code) if address.postal_code else None
    zones: list[str] = []
    if place is not None:
        zones.append(place.time_zone)
    if address.state and (place is None or place.state != address.state):
        zones += state_zones(address.state)
    return tuple(zones)


def address_county(address: Address) -> str | None:
    place = zip_place(address.postal_code) if address.postal_code else None
    return place.county if place is not None else None


def candidate_zones(case: Case) -> tuple[str, ...]:
    """Every zone the person may be in, deduplicated, most specific evidence first."""
    person = case.person
    zones = [*person.time_zones, *number_zones(case.call.number)]
    if person.address is not None:
        zones += address_zones(person.address)
    if not zones:
        zones += number_country_zones(case.call.number)
    if not zones and person.address is not None:
        zones += country_zones(person.address.country)
    return tuple(dict.fromkeys(zones))
