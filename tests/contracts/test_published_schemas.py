"""The JSON Schemas in docs/schemas are what the models say: consumers can rely on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_contracts.published import schema_documents

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(schema_documents()))
def test_committed_schema_matches_the_model(name):
    # A changed model without `make schemas` (and, if breaking, a version bump) fails here.
    assert (SCHEMAS / name).read_text() == schema_documents()[name]
