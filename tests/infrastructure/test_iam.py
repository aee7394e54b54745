"""Least privilege: the IAM statements that matter, asserted one by one."""

from __future__ import annotations

from typing import Any

from tests.infrastructure.conftest import resources_of

# Actions that have no resource-level permissions, so "*" is the only possible resource.
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "ecr:GetAuthorizationToken",
    # The Service Authorization Reference lists no resource type for the task-token calls;
    # AWS evaluates them on the state machine that issued the token, so "*" or its ARN work.
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, policy in resources_of(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found.append((name, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_star_resources_only_for_actions_without_resource_level_permissions(template):
    # Given every inline policy statement of our roles
    for name, statement in _statements(template):
        if "BucketNotificationsHandler" in name:
            continue  # CDK's own deploy-time handler
        if "*" in _as_list(statement["Resource"]):
            # Then a "*" resource only ever carries actions that cannot be scoped
            assert set(_as_list(statement["Action"])) <= NO_RESOURCE_LEVEL, (name, statement)


def test_no_action_wildcards_in_our_policies(template):
    for name, statement in _statements(template):
        if "BucketNotificationsHandler" in name:
            continue
        for action in _as_list(statement["Action"]):
            assert "*" not in action, (name, action)


def test_state_machine_invokes_only_the_pipeline_functions(template, state_machine):
    role_id = state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources_of(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    invoke = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in _as_list(s["Action"])
    ]
    (statement,) = invoke
    targets = {r["Fn::GetAtt"][0] for r in statement["Resource"]}
    # Exactly the functions the definition names, unqualified
    references = [
        value["Fn::GetAtt"][0]
        for value in state_machine["Properties"]["DefinitionSubstitutions"].values()
        if isinstance(value, dict) and "Fn::GetAtt" in value
    ]
    called = {
        name
        for name in references
        if template["Resources"][name]["Type"] == "AWS::Lambda::Function"
    }
    assert targets == called
    pass_role = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "iam:PassRole"
    ]
    assert pass_role[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_each_function_has_its_own_role(template):
    functions = resources_of(template, "AWS::Lambda::Function")
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(roles) == len(set(roles))
