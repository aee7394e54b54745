"""Identity-based policy evaluation, as IAM documents it for one account.

An explicit Deny wins; otherwise an Allow is needed; otherwise the request is implicitly
denied. Actions match case-insensitively, resources case-sensitively, both with `*` and `?`
wildcards. Conditions follow the documented rules: keys are ANDed, values of one key ORed, a
key missing from the request fails the condition unless the operator is negated (`...Not...`),
ends in `IfExists`, or is `Null`; negation applies per request value, before `ForAllValues`
(true on an absent key) or `ForAnyValue` (false on one). Operators the emulation does not
know fail closed: such an Allow does not allow, such a Deny denies.

Not modelled: resource-based policies (bucket, key and queue policies), permission
boundaries, session policies and real service control policies (see `Denials` for the local
stand-in of the last).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Permission:
    """One thing a request needs: an action on a resource, with the request's condition keys."""

    action: str
    resource: str | None = "*"  # None: not known locally (see Enforcement.decide)
    context: Mapping[str, ContextValue] = field(default_factory=dict)


class Decision(Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "no identity-based policy allows"
    EXPLICIT_DENY = "explicit deny in an identity-based policy"
    DENIED_BY_SCP = "explicit deny in a service control policy"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOWED


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    # Not fnmatch: it would also read [...] as a character class; IAM has only * and ?.
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in glob
    )
    return re.compile(f"^{regex}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_pattern(glob, ignore_case).match(value))


def action_matches(patterns: Any, action: str) -> bool:
    return any(matches(str(p), action, ignore_case=True) for p in _as_list(patterns))


def resource_matches(patterns: Any, resource: str) -> bool:
    # A request on "*" (an action without resource-level permissions) only matches "*".
    if resource == "*":
        return any(str(p) == "*" for p in _as_list(patterns))
    return any(matches(str(p), resource) for p in _as_list(patterns))


class _Conditions:
    """The condition operators IAM defines, on string-valued request context keys."""

    @staticmethod
    def holds(block: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]) -> bool:
        lowered = {k.lower(): v for k, v in context.items()}
        return all(
            _Conditions._operator(operator, key, expected, lowered)
            for operator, keys in block.items()
            for key, expected in keys.items()
        )

    @staticmethod
    def _operator(
        operator: str, key: str, expected: Any, context: Mapping[str, ContextValue]
    ) -> bool:
        qualifier, _, name = operator.rpartition(":")
        if_exists = name.endswith("IfExists")
        name = name.removesuffix("IfExists")
        present = key.lower() in context
        if name == "Null":
            wants_absent = str(_as_list(expected)[0]).lower() == "true"
            return wants_absent != present
        negated = "Not" in name
        test = _TESTS.get(name.replace("Not", ""))
        if test is None:
            raise UnknownOperator(operator)
        values = [str(v) for v in _as_list(context[key.lower()])] if present else []
        if qualifier == "ForAllValues":
            # True when every request value matches, which an absent or empty key does.
            return all(_value_matches(test, expected, v, negated) for v in values)
        if not values:
            # ForAnyValue needs a value; a single-valued key that is absent satisfies only
            # the negated operators and ...IfExists.
            return False if qualifier == "ForAnyValue" else (if_exists or negated)
        # ForAnyValue, or a single-valued key: one request value is enough.
        return any(_value_matches(test, expected, v, negated) for v in values)


class UnknownOperator(Exception):
    """A condition operator the emulation does not implement."""


def _value_matches(test: Any, expected: Any, value: str, negated: bool) -> bool:
    """One request value against the condition's values: a match with any of them, or, for
    a negated operator, a match with none (IAM negates per value, before ForAll/ForAny)."""
    hit = any(test(str(w), value) for w in _as_list(expected))
    return not hit if negated else hit


def _numeric(wanted: str, value: str, compare: Any) -> bool:
    try:
        return bool(compare(float(value), float(wanted)))
    except ValueError:
        return False


_TESTS: dict[str, Any] = {
    "StringEquals": operator.eq,
    "StringEqualsIgnoreCase": lambda w, v: w.lower() == v.lower(),
    "StringLike": matches,
    "ArnEquals": matches,
    "ArnLike": matches,
    "Bool": lambda w, v: w.lower() == v.lower(),
    "NumericEquals": lambda w, v: _numeric(w, v, operator.eq),
    "NumericLessThan": lambda w, v: _numeric(w, v, operator.lt),
    "NumericLessThanEquals": lambda w, v: _numeric(w, v, operator.le),
    "NumericGreaterThan": lambda w, v: _numeric(w, v, operator.gt),
    "NumericGreaterThanEquals": lambda w, v: _numeric(w, v, operator.ge),
}


def statement_applies(statement: Mapping[str, Any], permission: Permission) -> bool:
    if "Action" in statement and not action_matches(statement["Action"], permission.action):
        return False
    if "NotAction" in statement and action_matches(statement["NotAction"], permission.action):
        return False
    resource = permission.resource or "*"
    if "Resource" in statement and not resource_matches(statement["Resource"], resource):
        return False
    if "NotResource" in statement and resource_matches(statement["NotResource"], resource):
        return False
    try:
        return _Conditions.holds(statement.get("Condition", {}), permission.context)
    except UnknownOperator:
        # Fail closed: an Allow the emulation cannot judge does not allow; a Deny does deny.
        return statement.get("Effect") == "Deny"


def evaluate(policies: Iterable[Mapping[str, Any]], permission: Permission) -> Decision:
    """The decision of a set of identity-based policy documents on one permission."""
    allowed = False
    for document in policies:
        for statement in _as_list(document.get("Statement", [])):
            if not statement_applies(statement, permission):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


@dataclass(frozen=True)
class Denials:
    """Actions denied to every role of the stack, as an organization's SCP would
    (`--inject deny=ACTION,...`). Wildcards as in IAM (`s3:Put*`)."""

    actions: frozenset[str] = frozenset()

    def deny(self, action: str) -> bool:
        return any(matches(pattern, action, ignore_case=True) for pattern in self.actions)


def is_action_name(text: str) -> bool:
    """`service:Action`, with IAM wildcards allowed in the action part."""
    return bool(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*?]+", text))


__all__ = [
    "Decision",
    "Denials",
    "Permission",
    "action_matches",
    "evaluate",
    "is_action_name",
    "matches",
    "resource_matches",
]
