"""The state machine definition exactly as synthesized: cdk.out's ASL asset with the
template's DefinitionSubstitutions applied. Unresolvable intrinsics (ARNs of resources that
do not exist yet) become readable placeholders. For static checks (asl-validator, tests).

    python -m stacks.synthesized_asl [cdk.out] > pipeline.asl.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STACK = "MultimodalPipeline"


PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def _placeholder(value: Any, template: dict[str, Any]) -> str:
    """A readable stand-in for a value only CloudFormation can resolve."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_placeholder(v, template) for v in value)
    (function, argument), *_ = value.items()
    if function == "Ref":
        if argument in PSEUDO:
            return PSEUDO[argument]
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{argument}"
    if function == "Fn::GetAtt":
        logical_id, attribute = argument
        if attribute == "Arn" and "Function" in logical_id:
            return f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}"
        if attribute == "Arn":
            return f"arn:aws:iam::123456789012:role/{logical_id}"
        return f"{logical_id}.{attribute}"
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(_placeholder(part, template) for part in parts)
    if function == "Fn::FindInMap":
        name, first, second = (_placeholder(a, template) for a in argument)
        return str(template["Mappings"][name][first][second])
    if function == "Fn::Sub":
        text = str(argument if isinstance(argument, str) else argument[0])
        for pseudo, stand_in in PSEUDO.items():
            text = text.replace("${" + pseudo + "}", stand_in)
        return text
    raise ValueError(f"no placeholder for {function}")


def state_machine_resource(template: dict[str, Any]) -> dict[str, Any]:
    machines = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise ValueError(f"expected one state machine, found {len(machines)}")
    machine: dict[str, Any] = machines[0]
    return machine


def synthesized_definition(cdk_out: Path, stack: str = STACK) -> dict[str, Any]:
    template = json.loads((cdk_out / f"{stack}.template.json").read_text())
    properties = state_machine_resource(template)["Properties"]
    key = properties["DefinitionS3Location"]["Key"]
    asset_hash = key.split(".", 1)[0]
    assets = json.loads((cdk_out / f"{stack}.assets.json").read_text())
    asset = assets["files"][asset_hash]["source"]["path"]
    text = (cdk_out / asset).read_text()
    for name, value in properties.get("DefinitionSubstitutions", {}).items():
        # Substitutions land inside JSON string literals: escape them as such.
        text = text.replace("${" + name + "}", json.dumps(_placeholder(value, template))[1:-1])
    definition: dict[str, Any] = json.loads(text)
    return definition


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    json.dump(synthesized_definition(out), sys.stdout, indent=2)
