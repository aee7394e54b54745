"""The JSON Schemas of the contracts users code against, as published in docs/schemas/.

python -m pipeline_contracts.published docs/schemas      (`make schemas`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from pipeline_contracts.manifest import Manifest
from pipeline_contracts.records import SCHEMA_VERSION, FailureRecord, ItemResult, QuarantineRecord

PUBLISHED: dict[str, type[BaseModel]] = {
    "manifest.v1.json": Manifest,
    f"item-result.v{SCHEMA_VERSION}.json": ItemResult,
    f"quarantine-record.v{SCHEMA_VERSION}.json": QuarantineRecord,
    f"failure-record.v{SCHEMA_VERSION}.json": FailureRecord,
}


def schema_documents() -> dict[str, str]:
    return {
        name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in PUBLISHED.items()
    }


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, document in schema_documents().items():
        (target / name).write_text(document)
        print(target / name)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"))
