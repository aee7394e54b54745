"""A local run counts a record only if consumers could parse it: each written record is
checked against its published model."""

from __future__ import annotations

from mmpipe.local.run.collect import _breaks_its_schema

FAILURE = {
    "schema_version": "1.0",
    "item_id": "x-1",
    "status": "failed",
    "failure": {"error": "ServiceUnavailable", "cause": "down"},
    "recorded_at": "2026-12-01T00:00:00+00:00",
}


def test_a_record_that_validates_is_counted():
    assert _breaks_its_schema({"results": None, "quarantine": None, "failures": FAILURE}) is None


def test_a_record_that_breaks_its_schema_is_named_with_why():
    # Given a failure record whose failure lost its cause
    broken = {**FAILURE, "failure": {"error": "ServiceUnavailable"}}

    # Then the run says which record and what is wrong
    why = _breaks_its_schema({"results": None, "quarantine": None, "failures": broken})
    assert why is not None
    assert why.startswith("the failures record breaks its published schema")
    assert "cause" in why
