"""Edit a copy of a cloud assembly's IAM: what the least-privilege checks remove, one action
at a time, to show that the offline run notices (benchmarks/iam_mutations.py, the tests)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmpipe.local.synth import STACK_NAME


@dataclass(frozen=True)
class Grant:
    """One action in one statement of a role's policy, as synthesized."""

    policy: str  # logical id of the AWS::IAM::Policy
    role: str  # logical id of the role it is attached to
    action: str


def _template(cdk_out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((cdk_out / f"{STACK_NAME}.template.json").read_text())
    return document


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return list(actions) if isinstance(actions, list) else [actions]


def grants(cdk_out: Path) -> list[Grant]:
    """Every action every role of the stack is granted, one entry per action and policy."""
    found: list[Grant] = []
    for logical_id, resource in _template(cdk_out)["Resources"].items():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = [r.get("Ref", "") for r in resource["Properties"].get("Roles", [])]
        actions = sorted(
            {a for s in resource["Properties"]["PolicyDocument"]["Statement"] for a in _actions(s)}
        )
        found += [Grant(logical_id, role, action) for role in roles for action in actions]
    return found


def without(cdk_out: Path, destination: Path, grant: Grant) -> Path:
    """A copy of `cdk_out` in which `grant.policy` no longer names `grant.action`. Only the
    template is copied; the assets (tens of megabytes of Lambda code) are linked."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    path = destination / f"{STACK_NAME}.template.json"
    for entry in cdk_out.iterdir():
        if entry.name != path.name:
            (destination / entry.name).symlink_to(entry.resolve())
    template = _template(cdk_out)
    statements = template["Resources"][grant.policy]["Properties"]["PolicyDocument"]["Statement"]
    kept = []
    for statement in statements:
        actions = [a for a in _actions(statement) if a != grant.action]
        if actions:
            kept.append({**statement, "Action": actions})
    template["Resources"][grant.policy]["Properties"]["PolicyDocument"]["Statement"] = kept
    path.write_text(json.dumps(template, indent=1))
    return destination
