"""Reading a placement file: header, rows, validation, merging into people.

Numbers not seen before are the costly part of validation (see `phones`). For big files, a
first pass can collect the distinct phone texts and worker processes normalise them, so that
the second pass, which validates and merges every row in file order in this process, finds
every number answered.
Only short strings and small answers cross between processes: shipping whole rows and their
validated values through pickle costs more than validating them (measured on 2 cores).
Nothing here touches the database: a file is read completely before the import begins its
transaction, which keeps that transaction (and the SQLite write lock) short.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult
from pathlib import Path

from campaigns.importer.columns import PHONE_SLOTS, HeaderError, resolve_header
from campaigns.importer.merge import Merger
from campaigns.importer.phones import Normalised, PhoneNormaliser
from campaigns.importer.validator import RowValidator

CHUNK_ROWS = 5_000
PHONE_COLUMNS = frozenset(f"phone{slot}" for slot in PHONE_SLOTS)

NumberedRow = tuple[int, list[str]]


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not UTF-8, no header, unknown columns, ...)."""


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    lines: int  # newline characters: an upper bound on the rows, for progress bars


def file_facts(path: Path) -> FileFacts:
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
    return FileFacts(digest.hexdigest(), lines)


def _numbered_rows(reader: Iterator[list[str]], line_of: Callable[[], int]) -> Iterator[NumberedRow]:
    start = line_of() + 1
    for fields in reader:
        if fields:  # blank lines are not rows
            yield start, fields
        start = line_of() + 1


def _chunks(rows: Iterator[NumberedRow]) -> Iterator[list[NumberedRow]]:
    chunk: list[NumberedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


PhoneKey = tuple[str, str]  # (raw text, default region)
PHONE_BATCH = 20_000


def _normalise_batch(keys: list[PhoneKey]) -> dict[PhoneKey, Normalised | None]:
    normaliser = PhoneNormaliser()
    for raw, region in keys:
        normaliser.normalise(raw, region)
    return normaliser.answers()


def _phone_keys(reader: Iterator[list[str]], columns: tuple[str, ...]) -> Iterator[list[PhoneKey]]:
    """Batches of distinct (phone text, region) pairs, as validation will ask for them."""
    phones = [index for index, column in enumerate(columns) if column in PHONE_COLUMNS]
    country = columns.index("country") if "country" in columns else None
    seen: set[PhoneKey] = set()
    batch: list[PhoneKey] = []
    for fields in reader:
        if len(fields) != len(columns):
            continue
        # An unknown country makes validation fall back to US; this pair is then never asked for.
        region = (fields[country].strip().upper() if country is not None else "") or "US"
        for index in phones:
            raw = fields[index].strip()
            if raw and (raw, region) not in seen:
                seen.add((raw, region))
                batch.append((raw, region))
        if len(batch) >= PHONE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _normalise_in_pool(
    path: Path, columns: tuple[str, ...], normaliser: PhoneNormaliser, workers: int
) -> None:
    # fork: workers need nothing but this module, and spawn would re-run the caller's main module.
    # No database connection is open in this process yet (the transaction starts after reading).
    context = multiprocessing.get_context("fork")
    with path.open(encoding="utf-8-sig", newline="") as handle, context.Pool(workers) as pool:
        reader = csv.reader(handle, strict=True)
        next((fields for fields in reader if fields), None)  # the header
        pending: collections.deque[AsyncResult[dict[PhoneKey, Normalised | None]]] = collections.deque()
        for batch in _phone_keys(reader, columns):
            pending.append(pool.apply_async(_normalise_batch, (batch,)))
            while len(pending) > 2 * workers:
                normaliser.learn(pending.popleft().get())
        while pending:
            normaliser.learn(pending.popleft().get())


def read_file(
    path: Path,
    mapping: Mapping[str, str],
    *,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Merger:
    """Every row of the file validated and merged into people, in file order.

    `workers`: processes that normalise the file's phone numbers first; 0 does it all here.
    Worth it on an otherwise idle machine with spare cores; on a busy one the extra pass costs
    more than it saves, so it is not the default.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next((fields for fields in reader if fields), None)
            if header is None:
                raise ImportFileError(f"{path.name}: the file is empty; a header row is required")
            try:
                columns = resolve_header(header, mapping)
            except HeaderError as error:
                raise ImportFileError(f"{path.name}: {error}") from None
            normaliser = PhoneNormaliser()
            if workers > 0:
                _normalise_in_pool(path, columns, normaliser, workers)
            validator = RowValidator(columns, normaliser)
            merger = Merger()
            for chunk in _chunks(_numbered_rows(reader, lambda: reader.line_num)):
                merger.add_all(validator.validate(fields, line) for line, fields in chunk)
                if progress is not None:
                    progress(len(chunk))
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{path.name}: not UTF-8 ({error.reason} at byte {error.start} of a block)"
        ) from None
    except csv.Error as error:
        raise ImportFileError(f"{path.name}: not a readable CSV file: {error}") from None
    return merger
