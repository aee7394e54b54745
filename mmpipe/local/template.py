"""Read a synthesized cloud assembly (cdk.out): resources, intrinsics, assets.

Only what local mode needs: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
Fn::FindInMap and the pseudo-parameters, with deterministic physical names standing in for
CloudFormation's. Also the synthesized definition for static checks:

    python -m mmpipe.local.template [cdk.out] > pipeline.asl.json
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

_SUB_PATTERN = re.compile(r"\$\{([^}!][^}]*)\}")
# S3 Vectors resources: the property that names them, and the characters a name may not have.
_VECTOR_NAMES = {
    "AWS::S3Vectors::VectorBucket": ("VectorBucketName", r"[^a-z0-9-]"),
    "AWS::S3Vectors::Index": ("IndexName", r"[^a-z0-9.-]"),
}


@dataclass
class CloudAssembly:
    """One stack's template plus its assets, with intrinsics resolved against local names."""

    outdir: Path
    stack_name: str
    template: dict[str, Any]
    assets: dict[str, Any]
    _names: dict[str, str] = field(default_factory=dict)
    _created: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, outdir: Path, stack_name: str = "MultimodalPipeline") -> CloudAssembly:
        template = json.loads((outdir / f"{stack_name}.template.json").read_text())
        assets = json.loads((outdir / f"{stack_name}.assets.json").read_text())
        return cls(outdir=outdir, stack_name=stack_name, template=template, assets=assets)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def physical_name(self, logical_id: str) -> str:
        """A stable, service-valid name for a resource (CloudFormation would generate one)."""
        if logical_id not in self._names:
            kind = self.resources[logical_id]["Type"]
            if kind == "AWS::S3::Bucket":
                name = re.sub(r"[^a-z0-9-]", "-", f"local-{logical_id.lower()}")[:63]
            elif kind in _VECTOR_NAMES:
                name = self._vector_name(logical_id)
            else:
                name = logical_id[:64]
            self._names[logical_id] = name
        return self._names[logical_id]

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        prefix = f"arn:{PARTITION}"
        regional = f"{REGION}:{ACCOUNT_ID}"
        arns = {
            "AWS::S3::Bucket": f"{prefix}:s3:::{name}",
            "AWS::SQS::Queue": f"{prefix}:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::Lambda::Function": f"{prefix}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::StepFunctions::StateMachine": f"{prefix}:states:{regional}:stateMachine:{name}",
            "AWS::DynamoDB::Table": f"{prefix}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::IAM::Role": f"{prefix}:iam::{ACCOUNT_ID}:role/{name}",
            "AWS::KMS::Key": f"{prefix}:kms:{REGION}:{ACCOUNT_ID}:key/{name}",
            "AWS::SNS::Topic": f"{prefix}:sns:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::Events::Rule": f"{prefix}:events:{REGION}:{ACCOUNT_ID}:rule/{name}",
        }
        if kind == "AWS::S3Vectors::VectorBucket":
            return f"{prefix}:s3vectors:{regional}:bucket/{name}"
        if kind == "AWS::S3Vectors::Index":
            return f"{self.vector_bucket_arn_of(logical_id)}/index/{name}"
        return arns.get(kind, f"{prefix}:local:{REGION}:{ACCOUNT_ID}:{name}")

    def _vector_name(self, logical_id: str) -> str:
        """The name the template gives, else one CloudFormation could have generated: lower
        case letters, digits and hyphens (dots too for an index), 3 to 63 characters."""
        kind = self.resources[logical_id]["Type"]
        property_name, disallowed = _VECTOR_NAMES[kind]
        given = self.resources[logical_id].get("Properties", {}).get(property_name)
        if given is not None:
            return str(self.resolve(given))
        name = re.sub(disallowed, "-", f"local-{logical_id.lower()}")[:63]
        return name.rstrip("-.")

    def vector_bucket_arn_of(self, index_logical_id: str) -> str:
        """The vector bucket an AWS::S3Vectors::Index names, by ARN or by name."""
        props = self.resources[index_logical_id].get("Properties", {})
        if "VectorBucketArn" in props:
            return str(self.resolve(props["VectorBucketArn"]))
        bucket = self.resolve(props["VectorBucketName"])
        return f"arn:{PARTITION}:s3vectors:{REGION}:{ACCOUNT_ID}:bucket/{bucket}"

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/"
            f"{self.stack_name}/local",
            "AWS::NoValue": "",
        }
        if name in pseudo:
            return pseudo[name]
        kind = self.resources[name]["Type"]
        if kind in (
            "AWS::StepFunctions::StateMachine",
            "AWS::SNS::Topic",
            "AWS::S3Vectors::VectorBucket",
            "AWS::S3Vectors::Index",
        ):
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(name)}"
        if name in self.template.get("Parameters", {}):
            return str(self.template["Parameters"][name].get("Default", ""))
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute in ("Arn", "VectorBucketArn", "IndexArn"):
            return self.arn(logical_id)
        if attribute == "CreationTime":  # S3 Vectors: when the resource was created
            return self._created.setdefault(
                logical_id, datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
        if attribute in ("QueueName", "Name"):
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        raise KeyError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally")

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside a template value."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if fn == "Fn::Join":
                separator, parts = arg
                return separator.join(str(p) for p in self.resolve(parts))
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if fn == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::FindInMap":
                name, first, second = (str(self.resolve(a)) for a in arg)
                return self.template["Mappings"][name][first][second]
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return _SUB_PATTERN.sub(replace, text)

    def asset_path(self, object_key: str) -> Path:
        """The local file or folder behind an asset's S3 object key."""
        for asset in self.assets.get("files", {}).values():
            for destination in asset["destinations"].values():
                if destination["objectKey"] == object_key:
                    return self.outdir / str(asset["source"]["path"])
        raise KeyError(f"no asset in cdk.out has the object key {object_key!r}")

    def state_machine_definition(self, logical_id: str) -> str:
        """The ASL exactly as deployed: the asset file with its substitutions applied."""
        props = self.resources[logical_id]["Properties"]
        if "DefinitionString" in props:
            definition = str(self.resolve(props["DefinitionString"]))
        else:
            location = self.resolve(props["DefinitionS3Location"])
            definition = self.asset_path(location["Key"]).read_text()
        substitutions = self.resolve(props.get("DefinitionSubstitutions", {}))
        for name, replacement in substitutions.items():
            # Substitutions land inside JSON string literals: escape them as such.
            definition = definition.replace("${" + name + "}", json.dumps(str(replacement))[1:-1])
        leftover = re.findall(r"\$\{[A-Za-z0-9]+\}", definition)
        if leftover:
            raise ValueError(f"unresolved substitutions in the definition: {sorted(set(leftover))}")
        return definition


def synthesized_definition(outdir: Path, stack_name: str = "MultimodalPipeline") -> dict[str, Any]:
    """The one state machine of the stack, as deployed, parsed."""
    assembly = CloudAssembly.load(outdir, stack_name)
    (logical_id,) = assembly.of_type("AWS::StepFunctions::StateMachine")
    definition: dict[str, Any] = json.loads(assembly.state_machine_definition(logical_id))
    return definition


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    json.dump(synthesized_definition(out), sys.stdout, indent=2)
