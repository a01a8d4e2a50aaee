"""Import every package's models so the metadata is complete (for schema checks and tests)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from infra.db import Base

MODEL_MODULES = ("infra.models", "campaigns.models", "compliance.models", "campaigns.engine.models")


def load_metadata() -> MetaData:
    # Loaded by name: infra sits below the packages that own these models.
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
