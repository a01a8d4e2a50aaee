"""Importing placement files (the call-list CSV contract) into persons, debts, phones and call lists.

Pure core: columns (header), phones (E.164 and type; patterns proves what a type depends on),
rows (one row's validation, explaining every problem), validator (the quick path for valid
rows), merge (rules across rows), plan (changes against what exists). Shell: reading (file and
worker processes), store (bulk database reads and writes), run (the one transaction).
"""

from campaigns.importer.reading import ImportFileError
from campaigns.importer.run import ClientNotFoundError, ImportSummary, import_accounts

__all__ = ["ClientNotFoundError", "ImportFileError", "ImportSummary", "import_accounts"]
