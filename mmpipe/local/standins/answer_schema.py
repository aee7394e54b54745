"""The schema a model answer must fit: found in the prompt when the request carries none, and
the answer shaped to it. Kept apart from what the answer says (standins.model).
"""

from __future__ import annotations

import json
from typing import Any

_SCHEMA_MARKER = "JSON Schema: "


def schema_from_text(text: str) -> dict[str, Any] | None:
    start = text.find(_SCHEMA_MARKER)
    if start == -1:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(text, start + len(_SCHEMA_MARKER))
    except json.JSONDecodeError:
        return None
    return schema if isinstance(schema, dict) else None


def fit(answer: dict[str, Any], schema: dict[str, Any] | None) -> Any:
    """Shape `answer` to the schema: its properties only, nested models filled from the same
    pool of values, and a value for every required field."""
    if not schema:
        return answer
    definitions = schema.get("$defs", {})

    def node(spec: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in spec:
            return node(definitions[spec["$ref"].rsplit("/", 1)[-1]])
        options = [o for o in spec.get("anyOf", []) if o.get("type") != "null"]
        return node(options[0]) if options else spec

    def fill(spec: dict[str, Any], value: Any) -> Any:
        spec = node(spec)
        if spec.get("type") == "object" and "properties" in spec:
            source = value if isinstance(value, dict) else answer
            filled = {}
            for name, sub in spec["properties"].items():
                if name in source and source[name] is not None:
                    filled[name] = fill(sub, source[name])
                elif name in spec.get("required", []):
                    filled[name] = fill(sub, answer.get(name))
            return filled
        choices = spec.get("enum") or ([spec["const"]] if "const" in spec else None)
        if choices:
            return value if value in choices else choices[0]
        if spec.get("type") == "array" and isinstance(value, list):
            return [fill(spec.get("items", {}), v) for v in value]
        if value is None:
            kind = spec.get("type")
            return {
                "string": "unknown",
                "array": [],
                "object": {},
                "number": 0,
                "integer": 0,
                "boolean": False,
            }.get(str(kind))
        return value

    return fill(schema, answer)
