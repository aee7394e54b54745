"""Requests checked against the service's own API model, as the service checks them.

botocore's client validates types, required members and minimums before it sends a request;
the service also enforces maximums, patterns and enumerations, which the client leaves to it.
The local stand-ins run both checks on every request they serve (also on requests built by
the state machine, which no boto3 client validated), so a request AWS would refuse with a
ValidationException is refused locally the same way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    ServiceModel,
    Shape,
    StructureShape,
)
from botocore.validate import ParamValidator
from moto.core.exceptions import JsonRESTError


class RequestRejected(JsonRESTError):
    """The service's answer to a request that breaks its API contract or a documented limit."""

    def __init__(self, message: str, code: str = "ValidationException", status: int = 400):
        super().__init__(code, message)
        self.code = status


_service_models: dict[str, ServiceModel] = {}
_service_models_lock = threading.Lock()


def operation_model(service: str, operation: str) -> OperationModel:
    # One botocore session for all (each new one loads botocore's data again), and each
    # service's model loaded once, whichever stand-in threads ask first.
    with _service_models_lock:
        model = _service_models.get(service)
        if model is None:
            model = _session().get_service_model(service)
            _service_models[service] = model
    return model.operation_model(operation)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def contract_problems(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every way `params` breaks the operation's input shape, as sentences."""
    shape = operation_model(service, operation).input_shape
    report = ParamValidator().validate(dict(params), shape)
    problems = [
        line.strip()
        for line in report.generate_report().splitlines()
        if line.strip() and not line.startswith("Parameter validation failed")
    ]
    problems += list(_constraints(shape, params, "input"))
    return problems


def check_request(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Raise the service's ValidationException when the request breaks its API model."""
    problems = contract_problems(service, operation, params)
    if problems:
        count = len(problems)
        raise RequestRejected(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems)
        )


def _constraints(shape: Shape, value: Any, path: str) -> Iterator[str]:
    metadata = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                yield from _constraints(member, value[name], f"{path}.{name}")
        return
    if isinstance(shape, ListShape) and isinstance(value, list | tuple):
        yield from _bounds(metadata, len(value), path, "length")
        for index, item in enumerate(value):
            yield from _constraints(shape.member, item, f"{path}[{index}]")
        return
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        yield from _bounds(metadata, len(value), path, "length")
        for key, item in value.items():
            yield from _constraints(shape.key, key, f"{path} key {key!r}")
            yield from _constraints(shape.value, item, f"{path}.{key}")
        return
    if shape.type_name == "string" and isinstance(value, str):
        yield from _bounds(metadata, len(value), path, "length")
        if shape.enum and value not in shape.enum:
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = _pattern(metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            yield (
                f"Value '{value[:80]}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {metadata['pattern']}"
            )
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(
        value, int | float
    ):
        yield from _bounds(metadata, value, path, "value")
    elif shape.type_name == "blob" and isinstance(value, bytes | bytearray):
        yield from _bounds(metadata, len(value), path, "length")


def _bounds(metadata: Mapping[str, Any], measure: float, path: str, what: str) -> Iterator[str]:
    # Minimums are botocore's ParamValidator's part (above); it leaves maximums to the service.
    if "max" in metadata and measure > metadata["max"]:
        yield (
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} less "
            f"than or equal to {metadata['max']}"
        )


@cache
def _pattern(text: str | None) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        # Service patterns are Java regular expressions, matched against the whole value.
        return re.compile(text.replace("\\p{L}", "a-zA-Z").replace("\\p{N}", "0-9"))
    except re.error:
        return None  # a construct Python's re lacks: leave it to the service
