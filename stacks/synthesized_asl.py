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


def _placeholder(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "Arn" and "Function" in logical_id:
            return f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}"
        if attribute == "Arn":
            return f"arn:aws:iam::123456789012:role/{logical_id}"
        return f"{logical_id}.{attribute}"
    if isinstance(value, dict) and "Ref" in value:
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{value['Ref']}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_placeholder(part) for part in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${AWS::", "${")
    return json.dumps(value)


def state_machine_resource(template: dict[str, Any]) -> dict[str, Any]:
    machines = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    if len(machines) != 1:
        raise ValueError(f"expected one state machine, found {len(machines)}")
    return machines[0]


def synthesized_definition(cdk_out: Path, stack: str = STACK) -> dict[str, Any]:
    template = json.loads((cdk_out / f"{stack}.template.json").read_text())
    properties = state_machine_resource(template)["Properties"]
    key = properties["DefinitionS3Location"]["Key"]
    asset_hash = key.split(".", 1)[0]
    assets = json.loads((cdk_out / f"{stack}.assets.json").read_text())
    asset = assets["files"][asset_hash]["source"]["path"]
    text = (cdk_out / asset).read_text()
    for name, value in properties.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + name + "}", _placeholder(value))
    definition: dict[str, Any] = json.loads(text)
    return definition


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    json.dump(synthesized_definition(out), sys.stdout, indent=2)
