"""The Athena table over the results reads the records the writer publishes: each column it
declares is a field of `ItemResult` (and each struct's members fields of its model), and it
looks where `record_key` writes. A renamed field fails here, not in a user's query."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from pipeline_contracts.item import ObjectRef
from pipeline_contracts.naming import day_partition, record_key
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.records import ItemResult, Timings
from pipeline_contracts.work.fusion import FUSED

STRUCTS: dict[str, list[type[BaseModel]]] = {
    "source": [ObjectRef],
    "gates": [GateResult],
    "fused": list(FUSED.values()),  # every profile's answer has the column's members
    "timings": [Timings],
}


def _table(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = [
        r["Properties"]["TableInput"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Glue::Table"
    ]
    return table


def _members(column_type: str) -> list[str]:
    inner = re.search(r"struct<(.*)>", column_type)
    assert inner, column_type
    return re.findall(r"(?:^|,)(\w+):", inner.group(1))


def test_every_catalog_column_is_a_field_of_the_published_record(template):
    # Given the synthesized Glue table's columns
    columns = _table(template)["StorageDescriptor"]["Columns"]

    for column in columns:
        # Then each names a field of ItemResult
        assert column["Name"] in ItemResult.model_fields, column["Name"]
        # And each struct's members name fields of the model it holds
        for model in STRUCTS.get(column["Name"], []):
            for member in _members(column["Type"]):
                assert member in model.model_fields, (column["Name"], member, model.__name__)


def test_the_catalog_reads_where_records_are_written(template):
    # Given the table's partition template
    template_path = _table(template)["Parameters"]["storage.location.template"]

    # Then, with a day filled in, it is the folder of that day's result records
    joined = "".join(p if isinstance(p, str) else "<bucket>" for p in template_path["Fn::Join"][1])
    folder = joined.replace("${dt}", "2026-12-01")
    key = record_key("results", "item-1", "2026-12-01T10:00:00+00:00")
    assert folder.endswith("/" + key.rsplit("/", 1)[0] + "/")
    assert day_partition("2026-12-01") in folder
