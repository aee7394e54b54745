"""Work moto (and botocore under it) repeats for the same answer, or does the slow way.

None of these changes what moto decides or answers; each caches a pure function of its input
or produces the same bytes faster. Measured with `benchmarks/local_throughput.py` (py-spy on
the thread holding the GIL, and cProfile on thread CPU time): before them, parsing the
definition was about a quarter of a run's CPU, JSONPath parsers a tenth, and serializing
execution histories (read by the result writer and the collector) another fifth.
"""

from __future__ import annotations

import calendar
import copy
import re
import sys
import threading
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

import botocore.useragent as _useragent
from botocore.model import Shape
from jsonpath_ng.ext.parser import parse as _parse_jsonpath_ext
from jsonpath_ng.parser import parse as _parse_jsonpath
from moto import settings
from moto.core import utils as _moto_utils
from moto.core.base_backend import BackendDict
from moto.core.responses import ActionContext, ActionResult
from moto.core.serialize import XFormedAttributePicker
from moto.stepfunctions.parser.asl.component.common.path import result_path as _result_path
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path as _json_path
from moto.stepfunctions.parser.utils import long_uid
from moto.stepfunctions.responses import StepFunctionResponse

from mmpipe.local.moto_patches.shared import originals, rebind

# Module objects whose globals we re-bind (typed loosely: moto does not export these names).
json_path: Any = _json_path
result_path: Any = _result_path
useragent: Any = _useragent
moto_utils: Any = _moto_utils


# --- Patch 19: every execution parses and compiles the definition again ------------------
# moto lexes and parses the whole ASL with ANTLR's Python runtime, then builds the
# interpreter's components from the tree, each time an execution starts: about 0.3 s of CPU
# for this pipeline's definition, a third of a run's CPU. The components are a function of
# the definition alone and keep no state of their own while they evaluate (the execution's
# state lives in its Environment; a Map already runs one item processor's components on many
# threads at once): build them once per definition and let every execution evaluate them.
# The one value a component creates lazily, the key of its retry counters in the
# environment's heap, is made race-free below.
_programs: dict[str, tuple[Any, Any]] = {}
_programs_lock = threading.Lock()
_MAX_DEFINITIONS = 16


def _parse_definition(definition: str) -> tuple[Any, Any]:
    parsed = _programs.get(definition)
    if parsed is None:
        # One parse per definition: the first executions of a run start together.
        with _programs_lock:
            parsed = _programs.get(definition)
            if parsed is None:
                parsed = originals["asl_parse"](definition)  # raises on a syntax error
                if len(_programs) >= _MAX_DEFINITIONS:
                    _programs.clear()
                _programs[definition] = parsed
    return parsed


_heap_key_lock = threading.Lock()


def _heap_key(self: EvalComponent) -> str:
    key = self.__dict__.get("_EvalComponent__heap_key")
    if key is None:
        with _heap_key_lock:
            key = self.__dict__.get("_EvalComponent__heap_key")
            if key is None:
                key = long_uid()
                self.__dict__["_EvalComponent__heap_key"] = key
    return str(key)


# --- Patch 20: every JSONPath evaluation builds a new parser ------------------------------
# jsonpath_ng's parse() builds its lexer and yacc tables for each expression moto evaluates
# (InputPath, Parameters' "key.$", ResultPath, Choice variables...). The parsed expressions
# are immutable: parse each path once.
@lru_cache(maxsize=4096)
def _jsonpath_ext(path: str) -> Any:
    return _parse_jsonpath_ext(path)


@lru_cache(maxsize=4096)
def _jsonpath(path: str) -> Any:
    return _parse_jsonpath(path)


# --- Patch 21: every backend lookup takes moto's global lock and scans a list -------------
# `backends[account_id]` locks `backend_lock` and compares itself with every registered
# BackendDict (a Python __eq__ each) on each call, and every request makes several. An
# account already present was registered when it was added (reset() clears both together):
# return it without the lock.
def _backend_for_account(self: BackendDict[Any], account_id: str) -> Any:
    if dict.__contains__(self, account_id):
        return dict.__getitem__(self, account_id)
    return originals["backend_dict_getitem"](self, account_id)


# Likewise the list of a response class's methods, which moto builds with inspect.getmembers
# for every request to find the operation's handler. Kept per class; a name not in the kept
# list is looked up afresh (a patch may have added it), and restore() forgets them all.
class _MethodNames(list):  # type: ignore[type-arg]
    def __init__(self, clazz: type) -> None:
        super().__init__(originals["method_names_from_class"](clazz))
        self._clazz = clazz

    def __contains__(self, name: object) -> bool:
        return list.__contains__(self, name) or name in originals["method_names_from_class"](
            self._clazz
        )


_method_names: dict[type, _MethodNames] = {}


def _method_names_from_class(clazz: type) -> list[str]:
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names.setdefault(clazz, _MethodNames(clazz))
    return names


# Likewise moto's service models: cached, but not against threads, so the first requests to
# a service, arriving together, each load botocore's data with a loader of their own.
_service_models: dict[str, Any] = {}
_service_models_lock = threading.Lock()


def _service_model(service_name: str) -> Any:
    model = _service_models.get(service_name)
    if model is None:
        with _service_models_lock:
            model = _service_models.get(service_name)
            if model is None:
                model = originals["get_service_model"](service_name)
                _service_models[service_name] = model
    return model


# --- Patch 22: an execution history goes through moto's generic serializer ---------------
# For each of an execution's hundreds of events moto's serializer tries every member of
# HistoryEvent (about 60) under half a dozen spellings, and parses each timestamp back from a
# string. The events are plain dicts keyed by the API's own member names: serialize them by
# walking the keys they have, with the same rules (None left out, enums by value, timestamps
# as epoch seconds to the millisecond). Anything else (an unknown key, an unexpected type)
# goes the generic way, and a test checks both give the same JSON on real histories.
_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


class _Unexpected(Exception):
    """The value is not the plain shape the fast path handles."""


def serialize_plainly(value: Any, shape: Shape) -> Any:
    """`value` as moto's JSON serializer would serialize it for `shape`, or _Unexpected."""
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        if type(value) is not dict:
            raise _Unexpected(shape.name)
        members = shape.members
        out = {}
        for key, item in value.items():
            member = members.get(key)
            if member is None or member.serialization.get("name", key) != key:
                raise _Unexpected(f"{shape.name}.{key}")
            if item is not None:
                out[key] = serialize_plainly(item, member)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _Unexpected(shape.name)
        member = shape.member
        return [None if item is None else serialize_plainly(item, member) for item in value]
    if kind == "timestamp":
        if shape.serialization.get("timestampFormat"):
            raise _Unexpected(shape.name)
        if isinstance(value, str) and _ISO_UTC.fullmatch(value):
            # moto keeps history timestamps as text; parsed as dateutil parses this form.
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise _Unexpected(shape.name)
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        seconds = calendar.timegm(moment.timetuple())
        return seconds + (moment.microsecond // 1000) / 1000.0 if moment.microsecond else seconds
    if kind == "string":
        if isinstance(value, Enum):
            value = value.value
        return str(value) if value not in ({}, []) else value
    if kind in ("integer", "long", "boolean", "double", "float"):
        return value
    raise _Unexpected(kind)  # maps and blobs: the generic way


class _PlainResult(ActionResult):
    """An ActionResult serialized by `serialize_plainly`, with the generic as the fallback."""

    def execute_result(self, context: ActionContext) -> Any:
        shape = context.operation_model.output_shape
        try:
            body = serialize_plainly(self.result, shape) if shape is not None else {}
        except _Unexpected:
            return super().execute_result(context)
        serializer = context.serializer_class(
            operation_model=context.operation_model,
            pretty_print=settings.PRETTIFY_RESPONSES,
            value_picker=XFormedAttributePicker(),
        )
        response = serializer._serialized_result_to_response(
            serializer._create_default_response(), self.result, shape, body
        )
        return response["status_code"], response["headers"], response["body"]


def _get_execution_history(self: StepFunctionResponse) -> ActionResult:
    result = originals["get_execution_history"](self)
    return _PlainResult(result.result)


# --- Patch 23: botocore sanitizes the same user-agent parts on every request ---------------
# Each request rebuilds its User-Agent header, checking every character of every component
# against the allowed set (about 3 % of a run's CPU). The answer depends on the text alone.
@lru_cache(maxsize=1024)
def _sanitize_user_agent_component(raw_str: str, allow_hash: bool) -> str:
    return str(originals["sanitize_user_agent"](raw_str, allow_hash))


# --- Patch 24: the interpreter deep-copies the state's JSON at every step ----------------
# moto copies an execution's input, results and context with copy.deepcopy each time a state
# reads or writes them (tens of thousands of times a run, a seventh of its CPU): the generic
# copier, with its memo and per-type dispatch, on data that is plain JSON. Copy plain JSON
# (dicts, lists, strings, numbers, booleans, None) directly; anything else is copied by
# copy.deepcopy, whole, as before.
class _NotJson(Exception):
    """A value that is not plain JSON."""


_ATOMS = (str, int, float, bool, type(None))


def _copy_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    if kind in _ATOMS:
        return value
    raise _NotJson


def _deepcopy(value: Any, memo: Any = None) -> Any:
    if memo is None:
        try:
            return _copy_json(value)
        except (_NotJson, RecursionError):
            pass
    return copy.deepcopy(value, memo)


class _CopyModule:
    """Stands in for the `copy` module inside moto's interpreter: only deepcopy differs."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    deepcopy = staticmethod(_deepcopy)


_COPY_MODULE = _CopyModule()
_INTERPRETER = "moto.stepfunctions.parser."


def patch() -> None:
    originals["heap_key"] = EvalComponent.heap_key
    EvalComponent.heap_key = property(_heap_key)  # type: ignore[assignment,method-assign]
    originals["asl_parse"] = AmazonStateLanguageParser.parse
    AmazonStateLanguageParser.parse = staticmethod(_parse_definition)  # type: ignore[method-assign]
    originals["json_path_parse"] = json_path.parse
    json_path.parse = _jsonpath_ext
    originals["result_path_parse"] = result_path.parse
    result_path.parse = _jsonpath
    originals["backend_dict_getitem"] = BackendDict.__getitem__
    BackendDict.__getitem__ = _backend_for_account  # type: ignore[method-assign]
    originals["method_names_from_class"] = moto_utils.method_names_from_class
    rebind("method_names_from_class", moto_utils.method_names_from_class, _method_names_from_class)
    originals["get_service_model"] = moto_utils.get_service_model
    rebind("get_service_model", moto_utils.get_service_model, _service_model)
    originals["get_execution_history"] = StepFunctionResponse.get_execution_history
    StepFunctionResponse.get_execution_history = _get_execution_history  # type: ignore[method-assign]
    originals["sanitize_user_agent"] = useragent.sanitize_user_agent_string_component
    useragent.sanitize_user_agent_string_component = _sanitize_user_agent_component
    for name, module in list(sys.modules.items()):
        if name.startswith(_INTERPRETER) and getattr(module, "copy", None) is copy:
            module.copy = _COPY_MODULE  # type: ignore[attr-defined]


def restore() -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith(_INTERPRETER) and getattr(module, "copy", None) is _COPY_MODULE:
            module.copy = copy  # type: ignore[attr-defined]
    useragent.sanitize_user_agent_string_component = originals.pop("sanitize_user_agent")
    StepFunctionResponse.get_execution_history = originals.pop("get_execution_history")  # type: ignore[method-assign]
    rebind("get_service_model", _service_model, originals.pop("get_service_model"))
    original_names = originals.pop("method_names_from_class")
    rebind("method_names_from_class", _method_names_from_class, original_names)
    _method_names.clear()
    BackendDict.__getitem__ = originals.pop("backend_dict_getitem")  # type: ignore[method-assign]
    result_path.parse = originals.pop("result_path_parse")
    json_path.parse = originals.pop("json_path_parse")
    AmazonStateLanguageParser.parse = staticmethod(originals.pop("asl_parse"))  # type: ignore[method-assign]
    EvalComponent.heap_key = originals.pop("heap_key")  # type: ignore[method-assign]
    with _programs_lock:
        _programs.clear()
