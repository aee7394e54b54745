"""Create what cdk.out declares inside moto: buckets, queues, tables, rules, Lambdas, the
state machine (its definition with substitutions resolved), the SSM parameters and the S3
Vectors buckets and indexes."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from mmpipe.local.iam.enforcement import KmsKeys
from mmpipe.local.template import REGION, CloudAssembly

# Identical on every function by construction (the stack sets them all the same way).
_SHARED_ENV_PREFIXES = ("POWERTOOLS_",)


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    timeout_s: int
    role_arn: str


@dataclass(frozen=True)
class QueueMapping:
    """An SQS event source mapping: the runner polls the queue and invokes the function."""

    queue_url: str
    queue_arn: str
    function: LocalFunction
    batch_size: int


@dataclass(frozen=True)
class LocalVectorIndex:
    """An AWS::S3Vectors::Index as created in moto."""

    logical_id: str
    bucket_name: str
    index_name: str
    arn: str
    dimension: int
    distance_metric: str
    non_filterable_keys: tuple[str, ...]


@dataclass
class Deployment:
    """Names of what was created, as the runner needs them."""

    ingest_bucket: str
    processed_bucket: str
    buffer_queue_url: str
    buffer_dead_letter_url: str | None
    failed_items_queue_url: str | None
    dispatcher: LocalFunction
    state_machine_arn: str
    definition: dict[str, Any]
    state_machine_role_arn: str = ""
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    keys: KmsKeys = field(default_factory=KmsKeys)
    # Every mapping but the buffer's (the runner drives that one with its own pacing).
    other_mappings: list[QueueMapping] = field(default_factory=list)
    vector_indexes: dict[str, LocalVectorIndex] = field(default_factory=dict)  # by logical id


def merged_environment(assembly: CloudAssembly) -> dict[str, str]:
    """The union of every pipeline function's variables; a conflict is a stack bug."""
    merged: dict[str, str] = {}
    for logical_id, resource in assembly.of_type("AWS::Lambda::Function").items():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for name, raw in assembly.resolve(variables).items():
            value = str(raw)
            if (
                name in merged
                and merged[name] != value
                and not name.startswith(_SHARED_ENV_PREFIXES)
            ):
                raise ValueError(
                    f"{logical_id} sets {name}={value!r} but another function set "
                    f"{merged[name]!r}: handlers share one process in local mode"
                )
            merged.setdefault(name, value)
    return merged


def _tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "# local mode runs the real handler in-process\n")
    return buffer.getvalue()


def deploy(assembly: CloudAssembly) -> Deployment:
    """Create the stack's resources in the active moto mock (about a second)."""
    clients = {
        name: boto3.client(name, region_name=REGION)
        for name in ("s3", "sqs", "dynamodb", "iam", "lambda", "events", "stepfunctions", "ssm")
    }
    resolve = assembly.resolve

    _create_roles(assembly, clients["iam"])
    keys = KmsKeys()

    for logical_id, bucket in assembly.of_type("AWS::S3::Bucket").items():
        name = assembly.physical_name(logical_id)
        clients["s3"].create_bucket(Bucket=name)
        status = bucket["Properties"].get("VersioningConfiguration", {}).get("Status")
        if status:
            clients["s3"].put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": status}
            )
        encryption = resolve(bucket["Properties"].get("BucketEncryption", {}))
        for rule in encryption.get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                keys.buckets[name] = str(default["KMSMasterKeyID"])

    # CDK enables EventBridge notifications through a custom resource; do what it would do.
    for notifications in assembly.of_type("Custom::S3BucketNotifications").values():
        props = resolve(notifications["Properties"])
        clients["s3"].put_bucket_notification_configuration(
            Bucket=props["BucketName"], NotificationConfiguration=props["NotificationConfiguration"]
        )

    queue_urls: dict[str, str] = {}
    queues = assembly.of_type("AWS::SQS::Queue")

    # Dead-letter queues first (a queue's dead-letter queue may have its own), so that each
    # redrive policy names a queue that exists: moto ignores one that does not.
    def redrive_depth(logical_id: str) -> int:
        redrive = queues[logical_id]["Properties"].get("RedrivePolicy")
        if not redrive:
            return 0
        target = resolve(redrive)["deadLetterTargetArn"]
        return 1 + max(
            (redrive_depth(other) for other in queues if assembly.arn(other) == target), default=0
        )

    for logical_id, queue in sorted(queues.items(), key=lambda kv: redrive_depth(kv[0])):
        props = queue["Properties"]
        attributes: dict[str, str] = {}
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(resolve(props["RedrivePolicy"]))
        url = clients["sqs"].create_queue(
            QueueName=assembly.physical_name(logical_id), Attributes=attributes
        )["QueueUrl"]
        queue_urls[logical_id] = url
        if "KmsMasterKeyId" in props:
            keys.queues[assembly.arn(logical_id)] = str(resolve(props["KmsMasterKeyId"]))

    for logical_id, table in assembly.of_type("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        clients["dynamodb"].create_table(
            TableName=assembly.physical_name(logical_id),
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )

    vector_indexes = create_vector_indexes(assembly, boto3.client("s3vectors", region_name=REGION))

    for parameter in assembly.of_type("AWS::SSM::Parameter").values():
        props = resolve(parameter["Properties"])
        clients["ssm"].put_parameter(
            Name=props["Name"],
            Value=str(props["Value"]),
            Type=props.get("Type", "String"),
            Overwrite=True,
        )

    functions: dict[str, LocalFunction] = {}
    code = _tiny_zip()
    for logical_id, function in assembly.of_type("AWS::Lambda::Function").items():
        props = function["Properties"]
        handler = str(props.get("Handler", ""))
        if not handler.startswith("pipeline."):
            continue  # CDK's own helpers (custom-resource handlers): done above, by hand.
        name = assembly.physical_name(logical_id)
        clients["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=resolve(props["Role"]),
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=int(props.get("Timeout", 3)),
        )
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=name,
            arn=assembly.arn(logical_id),
            handler=handler,
            timeout_s=int(props.get("Timeout", 3)),
            role_arn=str(resolve(props["Role"])),
        )

    for logical_id, rule in assembly.of_type("AWS::Events::Rule").items():
        props = resolve(rule["Properties"])
        name = assembly.physical_name(logical_id)
        clients["events"].put_rule(
            Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props["State"]
        )
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])]
        if targets:
            clients["events"].put_targets(Rule=name, Targets=targets)

    ((sm_logical, sm_resource),) = assembly.of_type("AWS::StepFunctions::StateMachine").items()
    definition = assembly.state_machine_definition(sm_logical)
    sm_role = str(resolve(sm_resource["Properties"]["RoleArn"]))
    sm_arn = clients["stepfunctions"].create_state_machine(
        name=assembly.physical_name(sm_logical),
        definition=definition,
        roleArn=sm_role,
        type=sm_resource["Properties"].get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    encryption = resolve(sm_resource["Properties"].get("EncryptionConfiguration", {}))
    if encryption.get("Type") == "CUSTOMER_MANAGED_KMS_KEY":
        keys.state_machines[sm_arn] = str(encryption["KmsKeyId"])

    mappings: list[QueueMapping] = []
    for mapping in assembly.of_type("AWS::Lambda::EventSourceMapping").values():
        props = resolve(mapping["Properties"])
        queue_logical = next(k for k in queues if assembly.arn(k) == props["EventSourceArn"])
        mappings.append(
            QueueMapping(
                queue_url=queue_urls[queue_logical],
                queue_arn=assembly.arn(queue_logical),
                function=next(f for f in functions.values() if f.name == props["FunctionName"]),
                batch_size=int(props.get("BatchSize", 10)),
            )
        )
    buffer_mapping = next(m for m in mappings if m.function.handler.endswith(".dispatcher.handler"))
    dispatcher = buffer_mapping.function
    buffer_logical = next(k for k in queues if queue_urls[k] == buffer_mapping.queue_url)
    buffer_redrive = queues[buffer_logical]["Properties"].get("RedrivePolicy")
    dead_letter_url = None
    if buffer_redrive:
        dead_arn = resolve(buffer_redrive)["deadLetterTargetArn"]
        dead_letter_url = next(u for k, u in queue_urls.items() if assembly.arn(k) == dead_arn)

    environment = merged_environment(assembly)
    failed_url = next((u for u in queue_urls.values() if u in definition), None)
    return Deployment(
        ingest_bucket=environment["INGEST_BUCKET"],
        processed_bucket=environment["PROCESSED_BUCKET"],
        buffer_queue_url=queue_urls[buffer_logical],
        buffer_dead_letter_url=dead_letter_url,
        failed_items_queue_url=failed_url,
        dispatcher=dispatcher,
        state_machine_arn=sm_arn,
        definition=json.loads(definition),
        state_machine_role_arn=sm_role,
        functions={f.name: f for f in functions.values()},
        environment=environment,
        keys=keys,
        other_mappings=[m for m in mappings if m is not buffer_mapping],
        vector_indexes=vector_indexes,
    )


def create_vector_indexes(assembly: CloudAssembly, s3vectors: Any) -> dict[str, LocalVectorIndex]:
    """Every AWS::S3Vectors::VectorBucket, then every AWS::S3Vectors::Index, as the template
    declares them (names CloudFormation would generate where the template gives none)."""
    resolve = assembly.resolve
    for logical_id, bucket in assembly.of_type("AWS::S3Vectors::VectorBucket").items():
        props = resolve(bucket.get("Properties", {}))
        s3vectors.create_vector_bucket(
            vectorBucketName=assembly.physical_name(logical_id), **_vector_encryption(props)
        )

    created: dict[str, LocalVectorIndex] = {}
    for logical_id, index in assembly.of_type("AWS::S3Vectors::Index").items():
        props = resolve(index["Properties"])
        bucket_arn = assembly.vector_bucket_arn_of(logical_id)
        name = assembly.physical_name(logical_id)
        non_filterable = tuple(
            props.get("MetadataConfiguration", {}).get("NonFilterableMetadataKeys", [])
        )
        request: dict[str, Any] = {
            "vectorBucketArn": bucket_arn,
            "indexName": name,
            "dataType": props["DataType"],
            "dimension": int(props["Dimension"]),
            "distanceMetric": props["DistanceMetric"],
            **_vector_encryption(props),
        }
        if non_filterable:
            request["metadataConfiguration"] = {"nonFilterableMetadataKeys": list(non_filterable)}
        s3vectors.create_index(**request)
        created[logical_id] = LocalVectorIndex(
            logical_id=logical_id,
            bucket_name=bucket_arn.rsplit("/", 1)[-1],
            index_name=name,
            arn=assembly.arn(logical_id),  # what the template's Ref and GetAtt give
            dimension=int(props["Dimension"]),
            distance_metric=str(props["DistanceMetric"]),
            non_filterable_keys=non_filterable,
        )
    return created


def _vector_encryption(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's EncryptionConfiguration (SseType, KmsKeyArn) as the API's."""
    encryption = props.get("EncryptionConfiguration")
    if not encryption:
        return {}
    api = {"sseType": encryption.get("SseType", "AES256")}
    if "KmsKeyArn" in encryption:
        api["kmsKeyArn"] = encryption["KmsKeyArn"]
    return {"encryptionConfiguration": api}


def _create_roles(assembly: CloudAssembly, iam: Any) -> None:
    """Every role with the policies the template gives it: inline, AWS::IAM::Policy and
    AWS::IAM::ManagedPolicy resources, and the managed policies moto knows."""
    resolve = assembly.resolve
    for logical_id, role in assembly.of_type("AWS::IAM::Role").items():
        props = role["Properties"]
        name = assembly.physical_name(logical_id)
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
        )
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(resolve(policy["PolicyDocument"])),
            )
        for arn in resolve(props.get("ManagedPolicyArns", [])):
            # An AWS managed policy moto does not ship: only CDK's own helpers use them.
            with contextlib.suppress(iam.exceptions.NoSuchEntityException):
                iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, policy in assembly.of_type(kind).items():
            props = policy["Properties"]
            document = json.dumps(resolve(props["PolicyDocument"]))
            roles = [str(resolve(r)) for r in props.get("Roles", [])]
            if kind == "AWS::IAM::Policy":
                for role_name in roles:
                    iam.put_role_policy(
                        RoleName=role_name, PolicyName=logical_id, PolicyDocument=document
                    )
                continue
            arn = iam.create_policy(PolicyName=logical_id, PolicyDocument=document)["Policy"]["Arn"]
            for role_name in roles:
                iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
