"""A synthetic placement portfolio: a realistic call-list CSV and a manifest of its dirty rows.

People live at real US ZIP codes (the offline `zipcodes` data) in every US time zone, including
Arizona (no daylight saving time), Hawaii, Alaska, Puerto Rico and Guam; their phones carry an
area code of their ZIP code, except for people who moved, whose mobile kept an area code from
another zone. People have several phones and debts; student loans come in groups serviced under
one account. A stated share of rows is dirty, and the manifest says exactly which and why, in the
importer's reject codes, so an import can be checked against it.

Deterministic: the same people count, seed and dirty rate always give the same file.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import json
import random
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zipcodes

from campaigns.importer.columns import COLUMNS
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.rows import RejectCode

FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Margaret",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Jose",
    "Maria",
    "Luis",
    "Ana",
    "Carlos",
    "Rosa",
    "Wei",
    "Mei",
    "Nguyen",
    "Linh",
    "Kalani",
    "Leilani",
    "Malia",
    "Keoni",
    "Aiyana",
    "Tala",
    "Ahmed",
    "Fatima",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Kealoha",
    "Begay",
    "Yazzie",
    "O'Brien",
    "Kowalski",
    "Chen",
    "Wang",
    "Kim",
    "Patel",
    "Okafor",
    "Silva",
    "Cruz",
    "Reyes",
    "Morales",
    "Ortiz",
]
STREETS = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Lincoln",
    "Jackson",
    "Church",
    "Highland",
    "Mill",
    "Ridge",
    "Forest",
    "River",
    "Spring",
    "Meadow",
    "Valley",
    "Aloha",
    "Mesa",
    "Saguaro",
    "Birch",
    "Willow",
    "Chestnut",
    "Walnut",
]
STREET_SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl")
CREDITORS = {
    "credit_card": (
        "Northwind Bank Card",
        "Harbor Credit Union Visa",
        "Summit Rewards Card",
        "Bluebird Store Card",
    ),
    "medical": (
        "St. Anne Regional Hospital",
        "Valley Emergency Physicians",
        "Lakeside Imaging",
        "Mercy Clinic",
    ),
    "auto": ("Roadway Auto Finance", "Prairie Motors Credit"),
    "utility": ("Metro Power & Light", "County Water District", "Gas Company of the Plains"),
    "telecom": ("Clearline Wireless", "Fibernet Cable", "Island Mobile"),
    "personal_loan": ("QuickCash Lending", "Cornerstone Personal Loans"),
    "other": ("Fitness Club One", "Campus Bookstore"),
}
STUDENT_LOAN_SERVICERS = (
    "Keystone Education Servicing",
    "Great Plains Student Loans",
    "Federal Loan Partners",
)
DEBT_KIND_WEIGHTS = {
    "credit_card": 30,
    "medical": 25,
    "student_loan": 10,
    "telecom": 10,
    "utility": 8,
    "auto": 7,
    "personal_loan": 7,
    "other": 3,
}
PRINCIPAL_RANGES = {
    "credit_card": (250, 12_000),
    "medical": (80, 9_000),
    "student_loan": (2_000, 30_000),
    "telecom": (60, 1_500),
    "utility": (50, 2_500),
    "auto": (1_500, 22_000),
    "personal_loan": (300, 8_000),
    "other": (40, 900),
}

# (January offset, July offset) in hours -> zone. Offsets rather than names, because the ZIP data
# names many IANA zones (America/Detroit, America/Boise, ...) that share one clock.
ZONE_BY_OFFSETS = {
    (-5, -4): "eastern",
    (-6, -5): "central",
    (-7, -6): "mountain",
    (-7, -7): "arizona",
    (-8, -7): "pacific",
    (-9, -8): "alaska",
    (-10, -10): "hawaii",
    (-4, -4): "atlantic",
    (10, 10): "chamorro",
}
ZONE_WEIGHTS = {
    "eastern": 47.0,
    "central": 29.0,
    "mountain": 5.0,
    "arizona": 2.0,
    "pacific": 14.0,
    "alaska": 1.0,
    "hawaii": 1.0,
    "atlantic": 0.8,
    "chamorro": 0.2,
}
MOVED_SHARE = 0.08  # people whose mobile number's area code belongs to another zone
PHONE_FORMATS: tuple[Callable[[str, str, str], str], ...] = (
    lambda npa, nxx, line: f"({npa}) {nxx}-{line}",
    lambda npa, nxx, line: f"{npa}-{nxx}-{line}",
    lambda npa, nxx, line: f"{npa}{nxx}{line}",
    lambda npa, nxx, line: f"+1{npa}{nxx}{line}",
    lambda npa, nxx, line: f"1 {npa} {nxx} {line}",
    lambda npa, nxx, line: f"{npa}.{nxx}.{line}",
)
INVALID_PHONES = ("555-0142", "n/a", "415-555-01234", "0000000", "12345")
BAD_STATES = ("XX", "ZZ", "Calif", "N.Y.", "QQ")
BAD_DATES = ("2023-02-30", "03/15/2021", "2022-13-01", "yesterday", "20210315")
PORTFOLIO_DATE = dt.date(2025, 1, 1)  # "today" of the synthetic portfolio, so output never drifts


@dataclasses.dataclass(frozen=True)
class Place:
    zip_code: str
    city: str
    state: str
    time_zone: str
    zone: str
    area_codes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class DirtyRow:
    line: int
    problems: tuple[tuple[str, str], ...]  # (column, reject code)


@dataclasses.dataclass(frozen=True)
class Manifest:
    people: int
    rows: int
    seed: int
    dirty_rate: float
    dirty: tuple[DirtyRow, ...]

    def expected_rejects(self) -> set[tuple[int, str, str]]:
        """(line, column, code) of every problem the importer must report."""
        return {(row.line, column, code) for row in self.dirty for column, code in row.problems}

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: dict[str, Any] = json.loads(text)
        dirty = tuple(
            DirtyRow(row["line"], tuple((column, code) for column, code in row["problems"]))
            for row in data["dirty"]
        )
        return cls(data["people"], data["rows"], data["seed"], data["dirty_rate"], dirty)


def _all_zip_codes() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = zipcodes.list_all()  # type: ignore[no-untyped-call]
    return entries


def _zone_of(time_zone: str) -> str | None:
    zone = zoneinfo.ZoneInfo(time_zone)
    offsets = tuple(
        int(
            (dt.datetime(2024, month, 15, 12, tzinfo=zone).utcoffset() or dt.timedelta()).total_seconds()
            // 3600
        )
        for month in (1, 7)
    )
    return ZONE_BY_OFFSETS.get((offsets[0], offsets[1]))


@functools.cache
def places_by_zone() -> dict[str, tuple[Place, ...]]:
    """Residential ZIP codes with their city, state, time zone and area codes, by zone."""
    zones: dict[str, list[Place]] = {zone: [] for zone in ZONE_WEIGHTS}
    state_codes: dict[str, set[str]] = {}
    entries = [
        entry
        for entry in _all_zip_codes()
        if entry["active"] and entry["zip_code_type"] == "STANDARD" and entry["timezone"]
    ]
    for entry in entries:
        state_codes.setdefault(entry["state"], set()).update(entry["area_codes"])
    for entry in entries:
        zone = _zone_of(entry["timezone"])
        # Where the ZIP has no area code listed, its state's area codes stand in.
        codes = entry["area_codes"] or sorted(state_codes.get(entry["state"], ()))
        # Keep the area codes that numbering metadata knows (new overlays may not be there yet).
        usable = tuple(code for code in codes if _area_code_works(code))
        if zone is None or not usable:
            continue
        zones[zone].append(
            Place(entry["zip_code"], entry["city"], entry["state"], entry["timezone"], zone, usable)
        )
    return {zone: tuple(places) for zone, places in zones.items() if places}


@functools.cache
def _area_code_works(code: str) -> bool:
    normaliser = PhoneNormaliser()
    exchanges = (234, 345, 456, 567, 678, 789, 890)
    return any(normaliser.normalise(f"{code}{exchange}4567", "US") is not None for exchange in exchanges)


class _Generator:
    def __init__(self, seed: int, dirty_rate: float) -> None:
        self.random = random.Random(seed)
        self.dirty_rate = dirty_rate
        self.places = places_by_zone()
        self.zones = list(self.places)
        self.zone_weights = [ZONE_WEIGHTS[zone] for zone in self.zones]
        self.normaliser = PhoneNormaliser()
        self.kinds = list(DEBT_KIND_WEIGHTS)
        self.kind_weights = list(DEBT_KIND_WEIGHTS.values())
        self.account_refs: list[str] = []  # refs written so far, for duplicates
        self.next_account = 0

    # -- values ------------------------------------------------------------------------------

    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.random.randrange(max((end - start).days, 1)))

    def amount(self, low: float, high: float) -> str:
        return f"{self.random.uniform(low, high):.2f}"

    def phone(self, area_codes: tuple[str, ...]) -> tuple[str, str]:
        """A valid number in one of the area codes: (as written in the file, E.164)."""
        rng = self.random
        while True:
            npa = rng.choice(area_codes)
            nxx = str(200 + int(rng.random() * 800))
            if nxx[1:] == "11":
                continue
            line = f"{int(rng.random() * 10_000):04d}"
            normalised = self.normaliser.normalise(f"{npa}{nxx}{line}", "US")
            if normalised is not None:
                return rng.choice(PHONE_FORMATS)(npa, nxx, line), normalised.e164

    def consent_time(self) -> str:
        moment = dt.datetime(2019, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=self.random.randrange(2_800_000)
        )
        if self.random.random() < 0.5:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()

    # -- one person ------------------------------------------------------------------------

    def person(self, index: int) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The columns every row of the person repeats, and one dict per debt."""
        rng = self.random
        # The first people go round the zones, so that even a small file has every zone.
        zone = self.zones[index] if index < len(self.zones) else rng.choices(self.zones, self.zone_weights)[0]
        place = rng.choice(self.places[zone])
        columns = {
            "person_ref": f"P{index + 1:08d}",
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "date_of_birth": self.date_between(dt.date(1940, 1, 1), dt.date(2004, 12, 31)).isoformat()
            if rng.random() < 0.85
            else "",
            "ssn_last4": f"{rng.randrange(10_000):04d}" if rng.random() < 0.7 else "",
            "address_line1": f"{rng.randrange(1, 9_999)} {rng.choice(STREETS)} {rng.choice(STREET_SUFFIXES)}",
            "address_line2": f"Apt {rng.randrange(1, 400)}" if rng.random() < 0.2 else "",
            "city": place.city,
            "state": place.state,
            "postal_code": place.zip_code
            if rng.random() < 0.8
            else f"{place.zip_code}-{rng.randrange(10_000):04d}",
            "country": "US" if rng.random() < 0.3 else "",
        }
        if rng.random() < 0.4:
            columns["email"] = f"{columns['first_name'].lower()}.{index + 1}@example.com"
        columns.update(self.phones(place))
        return columns, self.debts(rng.choices(self.kinds, self.kind_weights)[0])

    def phones(self, place: Place) -> dict[str, str]:
        rng = self.random
        count = rng.choices((1, 2, 3), (45, 35, 20))[0]
        moved = rng.random() < MOVED_SHARE
        columns: dict[str, str] = {}
        seen: set[str] = set()
        slot = 1
        while slot <= count:
            area_codes = place.area_codes
            if slot == 1 and moved:
                other = rng.choice([zone for zone in self.zones if zone != place.zone])
                area_codes = rng.choice(self.places[other]).area_codes
            written, e164 = self.phone(area_codes)
            if e164 in seen:
                continue
            seen.add(e164)
            phone_type = "mobile" if slot == 1 else rng.choice(("mobile", "landline", "work"))
            columns[f"phone{slot}"] = written
            if rng.random() < 0.6:
                columns[f"phone{slot}_type"] = phone_type
            if phone_type == "mobile" and rng.random() < 0.3:
                columns[f"phone{slot}_consent_at"] = self.consent_time()
            slot += 1
        return columns

    def debts(self, main_kind: str) -> list[dict[str, str]]:
        rng = self.random
        if main_kind == "student_loan":
            servicer = rng.choice(STUDENT_LOAN_SERVICERS)
            shared = f"SL{rng.randrange(10**9):09d}"
            return [self.debt("student_loan", servicer, shared) for _ in range(rng.randint(2, 4))]
        count = rng.choices((1, 2, 3, 4), (55, 28, 12, 5))[0]
        kinds = [main_kind, *rng.choices(self.kinds[:2] + self.kinds[3:], k=count - 1)]
        return [self.debt(kind, rng.choice(CREDITORS[kind]), "") for kind in kinds]

    def debt(self, kind: str, creditor: str, student_loan_account: str) -> dict[str, str]:
        rng = self.random
        self.next_account += 1
        low, high = PRINCIPAL_RANGES[kind]
        placed = self.date_between(dt.date(2023, 1, 1), PORTFOLIO_DATE)
        charged_off = placed - dt.timedelta(days=rng.randrange(30, 400))
        last_payment = charged_off - dt.timedelta(days=rng.randrange(30, 700))
        row = {
            "account_ref": f"A{self.next_account:09d}",
            "original_creditor": creditor,
            "debt_kind": kind,
            "student_loan_account": student_loan_account,
            "principal": self.amount(low, high),
            "interest": self.amount(0, high * 0.15) if rng.random() < 0.6 else "",
            "fees": self.amount(15, 120) if rng.random() < 0.3 else "",
            "currency": "USD" if rng.random() < 0.5 else "",
            "placed_on": placed.isoformat(),
            "charged_off_on": charged_off.isoformat() if kind != "medical" else "",
            "last_payment_on": last_payment.isoformat() if rng.random() < 0.7 else "",
            "statute_of_limitations_on": (
                last_payment + dt.timedelta(days=365 * rng.randint(3, 6))
            ).isoformat(),
        }
        if row["last_payment_on"]:
            row["last_payment_amount"] = self.amount(10, 300)
        return row

    # -- dirt ------------------------------------------------------------------------------

    def field_defect(self, row: dict[str, str], avoid: set[str]) -> tuple[str, str] | None:
        """Spoil one column of the row; (column, reject code), or None if nothing fitted."""
        rng = self.random
        choices: list[tuple[str, RejectCode]] = [
            (column, RejectCode.INVALID_PHONE) for column in ("phone1", "phone2", "phone3") if row.get(column)
        ]
        choices += [
            (column, RejectCode.REQUIRED) for column in ("first_name", "last_name", "principal", "phone1")
        ]
        choices += [
            (column, RejectCode.INVALID_DATE) for column in ("placed_on", "date_of_birth") if row.get(column)
        ]
        choices += [
            (column, RejectCode.NEGATIVE_AMOUNT) for column in ("principal", "interest") if row.get(column)
        ]
        choices.append(("state", RejectCode.INVALID_STATE))
        choices = [choice for choice in choices if choice[0] not in avoid]
        if not choices:
            return None
        column, code = rng.choice(choices)
        if code == RejectCode.INVALID_PHONE:
            row[column] = rng.choice(INVALID_PHONES)
        elif code == RejectCode.REQUIRED:
            row[column] = ""
            if column == "phone1":
                row["phone1_type"] = row["phone1_consent_at"] = ""
        elif code == RejectCode.INVALID_DATE:
            row[column] = rng.choice(BAD_DATES)
        elif code == RejectCode.NEGATIVE_AMOUNT:
            row[column] = f"-{rng.uniform(1, 500):.2f}"
        else:
            row[column] = rng.choice(BAD_STATES)
        return column, code.value

    def spoil(
        self, row: dict[str, str], first_row_clean: bool, is_first_row: bool
    ) -> tuple[tuple[str, str], ...]:
        rng = self.random
        roll = rng.random()
        if roll < 0.12 and self.account_refs:
            row["account_ref"] = rng.choice(self.account_refs)
            problems = [("account_ref", RejectCode.DUPLICATE_ACCOUNT.value)]
        elif roll < 0.24 and first_row_clean and not is_first_row:
            # A conflict is only judged on an otherwise valid row, against the person's first row.
            if row.get("date_of_birth") and rng.random() < 0.5:
                born = dt.date.fromisoformat(row["date_of_birth"]) + dt.timedelta(days=rng.randrange(1, 3000))
                row["date_of_birth"] = born.isoformat()
                return (("date_of_birth", RejectCode.PERSON_CONFLICT.value),)
            row["last_name"] = (
                rng.choice([name for name in LAST_NAMES if name != row["last_name"]]) + "-Vance"
            )
            return (("last_name", RejectCode.PERSON_CONFLICT.value),)
        else:
            defect = self.field_defect(row, set())
            problems = [defect] if defect else []
        if problems and rng.random() < 0.15:
            second = self.field_defect(row, {column for column, _ in problems})
            if second is not None:
                problems.append(second)
        return tuple(problems)


def manifest_path(csv_path: Path) -> Path:
    """Where the manifest of a portfolio file is kept: beside it."""
    return csv_path.with_name(f"{csv_path.stem}.manifest.json")


def write_portfolio(path: Path, *, people: int, seed: int, dirty_rate: float = 0.02) -> Manifest:
    """Write the portfolio CSV to `path`; the manifest of its dirty rows."""
    generator = _Generator(seed, dirty_rate)
    rng = generator.random
    dirty: list[DirtyRow] = []
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for index in range(people):
            person, debts = generator.person(index)
            first_row_clean = True
            for position, debt in enumerate(debts):
                row = {**person, **debt}
                line = rows + 2  # the header is line 1
                if rng.random() < dirty_rate:
                    problems = generator.spoil(row, first_row_clean, position == 0)
                    if problems:
                        dirty.append(DirtyRow(line, problems))
                        first_row_clean = first_row_clean and position != 0
                if row["account_ref"]:
                    generator.account_refs.append(row["account_ref"])
                writer.writerow([row.get(column, "") for column in COLUMNS])
                rows += 1
    return Manifest(people, rows, seed, dirty_rate, tuple(dirty))
