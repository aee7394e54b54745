"""Reading cdk.out: intrinsics, assets and the deployed state machine definition."""

from __future__ import annotations

import json
from pathlib import Path

from mmpipe.local.resources import merged_environment
from mmpipe.local.template import CloudAssembly


def test_definition_is_the_asset_with_every_substitution_resolved(cdk_out: Path) -> None:
    # Given the synthesized assembly
    assembly = CloudAssembly.load(cdk_out)
    (logical_id,) = assembly.of_type("AWS::StepFunctions::StateMachine")

    # When the definition is read as deployed
    definition = json.loads(assembly.state_machine_definition(logical_id))

    # Then it is the ASL with function ARNs in place of ${...} substitutions
    intake = definition["States"]["Check intake"]["Resource"]
    assert intake.startswith("arn:aws:lambda:us-east-1:123456789012:function:")
    assert "${" not in json.dumps(definition)


def test_intrinsics_resolve_to_local_names(cdk_out: Path) -> None:
    assembly = CloudAssembly.load(cdk_out)
    bucket = next(iter(assembly.of_type("AWS::S3::Bucket")))
    assert assembly.resolve({"Ref": bucket}) == assembly.physical_name(bucket)
    assert assembly.resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}) == "a-us-east-1"
    assert assembly.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert (
        assembly.resolve({"Fn::Sub": "${AWS::AccountId}:${AWS::Partition}"}) == "123456789012:aws"
    )


def test_functions_share_one_environment_without_conflicts(cdk_out: Path) -> None:
    # Given every pipeline function's variables, When merged, Then they agree (one process)
    environment = merged_environment(CloudAssembly.load(cdk_out))
    assert environment["INGEST_BUCKET"].startswith("local-")
    assert json.loads(environment["PIPELINE_CONFIG"])["ingest_prefix"] == "incoming/"
