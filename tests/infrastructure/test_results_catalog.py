"""The Athena table over the results reads the records the writer publishes: each column it
declares is a field of `ItemResult` (and each struct's members fields of its model), and it
looks where `record_key` writes. A renamed field fails here, not in a user's query."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from pipeline_contracts.cost import CostLine, ItemCost
from pipeline_contracts.item import Asset, ObjectRef
from pipeline_contracts.naming import day_partition, record_key
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.records import ItemResult, Timings
from pipeline_contracts.work.fusion import FUSED

STRUCTS: dict[str, list[type[BaseModel]]] = {
    "source": [ObjectRef],
    "gates": [GateResult],
    "fused": list(FUSED.values()),  # every profile's answer has the column's members
    "timings": [Timings],
    "assets": [Asset],
    "cost": [ItemCost],
    "cost.lines": [CostLine],
}


def _table(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = [
        r["Properties"]["TableInput"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Glue::Table"
    ]
    return table


def _members(column_type: str) -> list[tuple[str, str]]:
    """The (name, type) members of the column's outermost struct, nested types kept whole."""
    inner = re.search(r"struct<(.*)>", column_type)
    assert inner, column_type
    members, depth, start = [], 0, 0
    text = inner.group(1) + ","
    for position, char in enumerate(text):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            name, _, kind = text[start:position].partition(":")
            members.append((name, kind))
            start = position + 1
    return members


def _check_struct(path: str, column_type: str) -> None:
    for model in STRUCTS.get(path, []):
        for member, member_type in _members(column_type):
            assert member in model.model_fields, (path, member, model.__name__)
            if "struct<" in member_type:
                _check_struct(f"{path}.{member}", member_type)


def test_every_catalog_column_is_a_field_of_the_published_record(template):
    # Given the synthesized Glue table's columns
    columns = _table(template)["StorageDescriptor"]["Columns"]

    for column in columns:
        # Then each names a field of ItemResult
        assert column["Name"] in ItemResult.model_fields, column["Name"]
        # And each struct's members (nested ones too) name fields of the model it holds
        _check_struct(column["Name"], column["Type"])


def test_the_catalog_reads_where_records_are_written(template):
    # Given the table's partition template
    template_path = _table(template)["Parameters"]["storage.location.template"]

    # Then, with a day filled in, it is the folder of that day's result records
    joined = "".join(p if isinstance(p, str) else "<bucket>" for p in template_path["Fn::Join"][1])
    folder = joined.replace("${dt}", "2026-12-01")
    key = record_key("results", "item-1", "2026-12-01T10:00:00+00:00")
    assert folder.endswith("/" + key.rsplit("/", 1)[0] + "/")
    assert day_partition("2026-12-01") in folder


def test_the_catalog_has_the_cost_columns(template):
    # Given the synthesized Glue table's columns
    columns = {c["Name"]: c["Type"] for c in _table(template)["StorageDescriptor"]["Columns"]}

    # Then the cost is there, its lines too, and the assets the cost anchors price
    assert [name for name, _ in _members(columns["cost"])] == list(ItemCost.model_fields)
    assert (
        "lines:array<struct<service:string,unit:string,quantity:double,usd:double>>"
        in (columns["cost"])
    )
    assert {"modality", "duration_s"} <= {name for name, _ in _members(columns["assets"])}
