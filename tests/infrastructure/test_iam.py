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


def _s3vectors_actions_by_policy(template: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, statement in _statements(template):
        for action in _as_list(statement["Action"]):
            if action.startswith("s3vectors:"):
                found.setdefault(name, set()).add(action)
                # Always on the index, never on every index of the account
                resources = _as_list(statement["Resource"])
                assert resources == [{"Fn::GetAtt": [_index_id(template), "IndexArn"]}], name
    return found


def _index_id(template: dict[str, Any]) -> str:
    (logical_id,) = resources_of(template, "AWS::S3Vectors::Index")
    return str(logical_id)


def test_search_roles_each_touch_the_index_only_as_their_job_needs(template):
    by_policy = _s3vectors_actions_by_policy(template)
    by_role = {
        next(
            part for part in ("IndexForSearch", "SearchFunction", "ForgetVectors") if part in n
        ): actions
        for n, actions in by_policy.items()
    }
    assert by_role == {
        # Writes vectors and removes an object's earlier ones; never queries
        "IndexForSearch": {"s3vectors:PutVectors", "s3vectors:DeleteVectors", "s3vectors:GetIndex"},
        # Queries (GetVectors: a filtered query that returns metadata needs it); never writes
        "SearchFunction": {
            "s3vectors:QueryVectors",
            "s3vectors:GetVectors",
            "s3vectors:GetIndex",
        },
        "ForgetVectors": {"s3vectors:DeleteVectors"},
    }


def test_applications_reach_search_only_through_the_function(template):
    # Nothing in the stack grants QueryVectors but the search function's role
    querying = [
        n
        for n, actions in _s3vectors_actions_by_policy(template).items()
        if "s3vectors:QueryVectors" in actions
    ]
    assert len(querying) == 1
    assert "SearchFunction" in querying[0]


def test_events_a_rule_target_fails_on_are_kept_not_dropped(template):
    """Lambda retries an asynchronous invocation twice, then drops the event unless the
    function has an on-failure destination: every rule target keeps them in a queue its
    role may send to."""
    functions = resources_of(template, "AWS::Lambda::Function")
    targeted = {
        target["Arn"]["Fn::GetAtt"][0]
        for rule in resources_of(template, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if isinstance(target.get("Arn"), dict)
        and "Fn::GetAtt" in target["Arn"]
        and target["Arn"]["Fn::GetAtt"][0] in functions
    }
    configs = {
        config["Properties"]["FunctionName"]["Ref"]: config["Properties"]
        for config in resources_of(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert targeted
    assert targeted <= set(configs)
    for function in targeted:
        destination = configs[function]["DestinationConfig"]["OnFailure"]["Destination"]
        queue = destination["Fn::GetAtt"][0]
        role = functions[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources_of(template, "AWS::IAM::Policy")
        sends = [
            statement
            for name, statement in _statements(template)
            if {"Ref": role} in policies[name]["Properties"]["Roles"]
            and "sqs:SendMessage" in _as_list(statement["Action"])
            and {"Fn::GetAtt": [queue, "Arn"]} in _as_list(statement["Resource"])
        ]
        assert sends, (function, role)
