"""What each AWS request asks of IAM: the actions, resource ARNs and condition keys the
service authorizes, read from the request as the service would read it.

Written for the operations the pipeline and its stand-ins call, from the Service
Authorization Reference. An operation not listed here is still checked, at the action
level (`resource=None`: any statement naming the action counts), and reported by
`unmapped()`, so a new call is noticed instead of waved through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from mmpipe.local.iam.policies import Permission

Needs = list[Permission]


@dataclass(frozen=True)
class AwsRequest:
    """The parts of a signed request that authorization looks at."""

    service: str  # the IAM prefix, which is the SigV4 signing name: s3, states, bedrock...
    operation: str  # the API operation: GetObject, StartExecution, Converse...
    params: Mapping[str, Any]
    region: str
    account: str
    headers: Mapping[str, str]
    method: str = "POST"
    resource: str | None = None  # given by moto for S3 (bucket or bucket/key ARN)
    token_owner: str | None = None  # the state machine whose execution issued a task token


def _arn(request: AwsRequest, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{request.region}:{request.account}:{resource}"


def _named(name: str, request: AwsRequest, service: str, kind: str, separator: str = "/") -> str:
    """A resource given by name or by ARN."""
    return name if name.startswith("arn:") else _arn(request, service, f"{kind}{separator}{name}")


# --- per service -------------------------------------------------------------------------


def _dynamodb(request: AwsRequest) -> Needs:
    params, action = request.params, f"dynamodb:{request.operation}"
    if "RequestItems" in params:  # BatchGetItem, BatchWriteItem: every table named
        tables = list(params["RequestItems"])
    elif "TransactItems" in params:  # TransactGetItems, TransactWriteItems
        tables = [
            str(inner["TableName"])
            for item in params["TransactItems"]
            for inner in item.values()
            if isinstance(inner, dict) and "TableName" in inner
        ]
    elif "TableName" in params:
        tables = [str(params["TableName"])]
    else:
        return [Permission(action, None)]
    arns = [_named(t, request, "dynamodb", "table") for t in dict.fromkeys(tables)]
    if params.get("IndexName") and len(arns) == 1:  # Query/Scan on an index
        arns = [f"{arns[0]}/index/{params['IndexName']}"]
    return [Permission(action, arn) for arn in arns]


def _states(request: AwsRequest) -> Needs:
    params, action = request.params, f"states:{request.operation}"
    if request.operation in (
        "StartExecution",
        "StartSyncExecution",
        "ListExecutions",
        "DescribeStateMachine",
    ):
        return [Permission(action, str(params["stateMachineArn"]))]
    if request.operation in (
        "DescribeExecution",
        "StopExecution",
        "GetExecutionHistory",
        "RedriveExecution",
    ):
        return [Permission(action, str(params["executionArn"]))]
    if request.operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # The Service Authorization Reference lists no resource type, yet AWS names the state
        # machine that issued the token in its refusals, and grants on it work (aws-cdk#8486):
        # a statement on "*" or on that state machine allows it.
        return [Permission(action, request.token_owner)]
    return [Permission(action, None)]


def _transcribe(request: AwsRequest) -> Needs:
    params, action = request.params, f"transcribe:{request.operation}"
    if "TranscriptionJobName" in params:
        needs = [
            Permission(
                action,
                _arn(request, "transcribe", f"transcription-job/{params['TranscriptionJobName']}"),
            )
        ]
        if params.get("Tags"):
            needs.append(Permission("transcribe:TagResource", needs[0].resource))
        return needs
    if "VocabularyName" in params:
        return [
            Permission(
                action, _arn(request, "transcribe", f"vocabulary/{params['VocabularyName']}")
            )
        ]
    return [Permission(action, None)]


def _ssm(request: AwsRequest) -> Needs:
    params, action = request.params, f"ssm:{request.operation}"
    names = (
        [params["Path"]]
        if "Path" in params
        else (list(params.get("Names", [])) or [params.get("Name", "")])
    )
    return [
        Permission(action, _arn(request, "ssm", f"parameter/{str(n).lstrip('/')}")) for n in names
    ]


def _events(request: AwsRequest) -> Needs:
    action = f"events:{request.operation}"
    if request.operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in request.params.get("Entries", [])}
        return [
            Permission(action, _named(bus, request, "events", "event-bus")) for bus in sorted(buses)
        ]
    if "Name" in request.params or "Rule" in request.params:
        rule = str(request.params.get("Name") or request.params.get("Rule"))
        return [Permission(action, _named(rule, request, "events", "rule"))]
    return [Permission(action, None)]


def _sqs(request: AwsRequest) -> Needs:
    action = f"sqs:{request.operation.removesuffix('Batch')}"
    url = str(request.params.get("QueueUrl", ""))
    if url:
        path = urlparse(url).path.strip("/").split("/")  # /<account>/<name>
        return [Permission(action, f"arn:aws:sqs:{request.region}:{path[0]}:{path[-1]}")]
    if "QueueName" in request.params:
        return [Permission(action, _arn(request, "sqs", str(request.params["QueueName"])))]
    return [Permission(action, None)]


def _lambda(request: AwsRequest) -> Needs:
    name = unquote(str(request.params.get("FunctionName", "")))
    operation = "InvokeFunction" if request.operation == "Invoke" else request.operation
    if not name:
        return [Permission(f"lambda:{operation}", None)]
    return [Permission(f"lambda:{operation}", _named(name, request, "lambda", "function", ":"))]


def foundation_model_arns(request: AwsRequest, model_id: str) -> list[str]:
    """The resources Bedrock authorizes for a model id: the foundation model in this region,
    or an inference profile plus the foundation model in a region the profile routes to."""
    if model_id.startswith("arn:"):
        return [model_id]
    geography, _, model = model_id.partition(".")
    if geography in CROSS_REGION_GEOGRAPHIES and model:
        # Checked in another region of the profile: a grant pinned to the calling region
        # fails there on AWS as soon as the profile routes elsewhere.
        routed = CROSS_REGION_GEOGRAPHIES[geography]
        return [
            _arn(request, "bedrock", f"inference-profile/{model_id}"),
            f"arn:aws:bedrock:{routed}::foundation-model/{model}",
        ]
    return [f"arn:aws:bedrock:{request.region}::foundation-model/{model_id}"]


# A region each cross-region inference profile geography routes to besides us-east-1.
CROSS_REGION_GEOGRAPHIES = {
    "us": "us-west-2",
    "eu": "eu-west-3",
    "apac": "ap-southeast-2",
    "jp": "ap-northeast-3",
    "au": "ap-southeast-4",
    "ca": "ca-west-1",
    "global": "eu-central-1",
}


def _bedrock(request: AwsRequest) -> Needs:
    model_id = unquote(str(request.params.get("modelId", "")))
    action = {
        "Converse": "bedrock:InvokeModel",
        "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    }.get(request.operation, f"bedrock:{request.operation}")
    if not model_id:
        return [Permission(action, None)]
    return [Permission(action, arn) for arn in foundation_model_arns(request, model_id)]


def _sagemaker(request: AwsRequest) -> Needs:
    params, action = request.params, f"sagemaker:{request.operation}"
    name = params.get("ProcessingJobName")
    if name is None:
        return [Permission(action, None)]
    # SageMaker ARNs carry the name in lower case.
    arn = _arn(request, "sagemaker", f"processing-job/{str(name).lower()}")
    needs = [Permission(action, arn)]
    if request.operation == "CreateProcessingJob":
        needs.append(
            Permission(
                "iam:PassRole",
                str(params.get("RoleArn", "")),
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            )
        )
        if params.get("Tags"):
            needs.append(Permission("sagemaker:AddTags", arn))
    return needs


def _sts(request: AwsRequest) -> Needs:
    if request.operation == "AssumeRole":
        return [Permission("sts:AssumeRole", str(request.params.get("RoleArn", "")))]
    return []  # GetCallerIdentity needs no permission


def _kms(request: AwsRequest) -> Needs:
    key = str(request.params.get("KeyId", ""))
    return [
        Permission(f"kms:{request.operation}", _named(key, request, "kms", "key") if key else None)
    ]


_S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadBucket": "ListBucket",
}


def _s3(request: AwsRequest) -> Needs:
    action = "s3:" + _S3_ACTIONS.get(request.operation, request.operation)
    if action == "s3:GetObject" and request.method == "HEAD" and "versionId" in request.params:
        action = "s3:GetObjectVersion"  # moto says GetObject for every HEAD on a key
    resource = request.resource or "arn:aws:s3:::*"
    context: dict[str, str] = {}
    if action == "s3:ListBucket":
        prefix = request.params.get("prefix")
        if prefix is not None:
            context["s3:prefix"] = str(prefix)
    needs = [Permission(action, resource, context)]
    copy_source = request.headers.get("x-amz-copy-source") or request.headers.get(
        "X-Amz-Copy-Source"
    )
    if copy_source and action == "s3:PutObject":
        source, _, query = unquote(copy_source).lstrip("/").partition("?versionId=")
        needs.append(
            Permission("s3:GetObjectVersion" if query else "s3:GetObject", f"arn:aws:s3:::{source}")
        )
    return needs


# Operations on a vector bucket; every other operation but ListVectorBuckets and the tagging
# ones acts on an index (Service Authorization Reference, Amazon S3 Vectors).
_VECTOR_BUCKET_OPERATIONS = frozenset(
    {
        "CreateVectorBucket",
        "DeleteVectorBucket",
        "GetVectorBucket",
        "ListIndexes",
        "PutVectorBucketPolicy",
        "GetVectorBucketPolicy",
        "DeleteVectorBucketPolicy",
        "PutVectorBucketDefaultIndexMode",
    }
)


def _s3vectors(request: AwsRequest) -> Needs:
    params, operation = request.params, request.operation
    action = f"s3vectors:{operation}"
    if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        arn = unquote(str(params.get("resourceArn", "")))
        return [Permission(action, arn or None)]
    if operation == "ListVectorBuckets":
        return [Permission(action, "*")]  # no resource type: only "*" grants it
    bucket = str(params.get("vectorBucketArn") or "")
    if not bucket and params.get("vectorBucketName"):
        bucket = _arn(request, "s3vectors", f"bucket/{params['vectorBucketName']}")
    if operation in _VECTOR_BUCKET_OPERATIONS:
        needs = [Permission(action, bucket or None)]
    else:
        index = str(params.get("indexArn") or "")
        if not index and bucket and params.get("indexName"):
            index = f"{bucket}/index/{params['indexName']}"
        needs = [Permission(action, index or None)]
        # QueryVectors with a filter or returnMetadata, and ListVectors with returnData or
        # returnMetadata, also need s3vectors:GetVectors (their API references say so).
        metadata = params.get("returnMetadata") is True
        if (operation == "QueryVectors" and (metadata or params.get("filter") is not None)) or (
            operation == "ListVectors" and (metadata or params.get("returnData") is True)
        ):
            needs.append(Permission("s3vectors:GetVectors", index or None))
    if operation in ("CreateVectorBucket", "CreateIndex") and params.get("tags"):
        needs.append(Permission("s3vectors:TagResource", needs[0].resource))
    return needs


SERVICES: dict[str, Callable[[AwsRequest], Needs]] = {
    "dynamodb": _dynamodb,
    "states": _states,
    "transcribe": _transcribe,
    "ssm": _ssm,
    "events": _events,
    "sqs": _sqs,
    "lambda": _lambda,
    "bedrock": _bedrock,
    "sagemaker": _sagemaker,
    "sts": _sts,
    "kms": _kms,
    "s3": _s3,
    "s3vectors": _s3vectors,
}


def permissions_for(request: AwsRequest) -> Needs:
    """Everything IAM checks for this request (a request may need several permissions)."""
    mapper = SERVICES.get(request.service)
    if mapper is None:
        return [Permission(f"{request.service}:{request.operation}", None)]
    return mapper(request)


def json_params(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
