"""Least-privilege grants, written out action by action.

CDK's `bucket.grant_read` and `key.grant_encrypt_decrypt` grant action wildcards
(s3:GetObject*, s3:List*, kms:ReEncrypt*...). These grant exactly what the code calls, on
exactly one prefix, and acknowledge the one cdk-nag finding a prefix grant must raise
(an object ARN ending in `*`) right where it is granted, with the reason.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from pipeline.config import PipelineConfig
from pipeline_contracts.naming import FAILURES_PREFIX, NAME_PREFIX, RECORD_KINDS, WORK_PREFIX

# Work files of running items (plans, prepared media, transcripts, model answers).
# Model ids that start with these name cross-region inference profiles.
CROSS_REGION_PREFIXES = ("us", "eu", "apac", "global", "jp", "au", "ca")


def _acknowledge_prefix(role: iam.IRole, bucket: s3.IBucket, prefix: str) -> None:
    stack = Stack.of(bucket)
    bucket_resource = bucket.node.default_child
    logical_id = stack.resolve(stack.get_logical_id(bucket_resource))  # type: ignore[arg-type]
    Validations.of(role).acknowledge(
        iam_acknowledgment(
            role,
            f"Resource::<{logical_id}.Arn>/{prefix}*",
            f"Objects under the '{prefix}' prefix only: item keys are not known at deploy time.",
        )
    )


def iam_acknowledgment(scope: IConstruct, finding: str, reason: str) -> Acknowledgment:
    """An IAM5 acknowledgment. cdk-nag writes the region and account into a finding when the
    stack knows them (the CDK CLI sets a default region), so render them the same way."""
    stack = Stack.of(scope)
    for placeholder, value in (
        ("<AWS::Region>", stack.region),
        ("<AWS::AccountId>", stack.account),
    ):
        if not Token.is_unresolved(value):
            finding = finding.replace(placeholder, value)
    return Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)


def grant_object_read(
    role: iam.IRole, bucket: s3.IBucket, prefix: str, key: kms.IKey, *, versions: bool = False
) -> None:
    """GetObject on the prefix; with `versions`, GetObjectVersion too, which S3 requires for
    a read that names a version (items refer to exact versions of uploaded objects)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectVersion"] if versions else ["s3:GetObject"],
            resources=[bucket.arn_for_objects(f"{prefix}*")],
        )
    )
    grant_key_decrypt(role, key)
    _acknowledge_prefix(role, bucket, prefix)


def grant_object_write(role: iam.IRole, bucket: s3.IBucket, prefix: str, key: kms.IKey) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{prefix}*")]
        )
    )
    grant_key_encrypt(role, key)
    _acknowledge_prefix(role, bucket, prefix)


def grant_work_files(role: iam.IRole, processed_bucket: s3.IBucket, key: kms.IKey) -> None:
    """Read and write the item's work files (its plan, the branches' intermediate output)."""
    grant_object_read(role, processed_bucket, WORK_PREFIX, key)
    grant_object_write(role, processed_bucket, WORK_PREFIX, key)


def grant_missing_object_checks(role: iam.IRole, bucket: s3.IBucket) -> None:
    """For code that handles a missing object (a deleted upload, an absent asset, a job that
    wrote no subtitles): S3 answers 404 for a missing key only to callers that may list the
    bucket, and 403 AccessDenied to everyone else, indistinguishable from a forbidden read.
    Unconditioned: S3 evaluates this for GetObject/HeadObject, where no s3:prefix exists."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )


def grant_failure_recording(
    role: iam.IRole, processed_bucket: s3.IBucket, failed_items_queue: sqs.IQueue, key: kms.IKey
) -> None:
    """A recorder of items the state machine could not record: does the item have any record
    yet (a 404, not a 403, for one it has not, hence ListBucket)? Then its failure record,
    and its dead letter."""
    for kind in RECORD_KINDS:
        grant_object_read(role, processed_bucket, f"{kind}/", key)
    grant_missing_object_checks(role, processed_bucket)
    grant_object_write(role, processed_bucket, FAILURES_PREFIX, key)
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failed_items_queue.queue_arn])
    )
    grant_key_encrypt(role, key)


def grant_prefix_listing(role: iam.IRole, bucket_arn: str, prefixes: list[str]) -> None:
    """ListObjects under these prefixes only (SageMaker lists an S3Prefix input to stage it)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        )
    )


# Every Transcribe job this pipeline starts is named mmp-<item>-<asset>.
TRANSCRIPTION_JOB_PREFIX = NAME_PREFIX


def grant_transcription_jobs(role: iam.IRole, actions: list[str]) -> None:
    """Transcribe job actions on this pipeline's jobs (named at run time, by prefix)."""
    stack = Stack.of(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=actions,
            resources=[
                stack.format_arn(
                    service="transcribe",
                    resource="transcription-job",
                    resource_name=f"{TRANSCRIPTION_JOB_PREFIX}*",
                )
            ],
        )
    )
    Validations.of(role).acknowledge(
        iam_acknowledgment(
            role,
            "Resource::arn:<AWS::Partition>:transcribe:<AWS::Region>:<AWS::AccountId>:"
            f"transcription-job/{TRANSCRIPTION_JOB_PREFIX}*",
            "Job names are derived per item at run time; all carry this pipeline's prefix.",
        )
    )


def grant_item_access(
    table: dynamodb.ITable, role: iam.IRole, key: kms.IKey, actions: tuple[str, ...]
) -> None:
    """Single-item actions on one table (the callers name theirs next to the table)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])
    )
    grant_key_encrypt(role, key)


def grant_bedrock_models(role: iam.IRole, config: PipelineConfig) -> None:
    """bedrock:InvokeModel on every configured model: for a cross-region inference profile,
    the profile and the foundation model it routes to in whichever region it picks."""
    stack = Stack.of(role)
    model_ids = sorted(
        {
            config.models.image,
            config.models.document,
            config.models.text,
            config.models.video,
            config.models.fusion,
        }
    )
    resources: list[str] = []
    for model_id in model_ids:
        if model_id.split(".", 1)[0] in CROSS_REGION_PREFIXES:
            resources.append(
                stack.format_arn(
                    service="bedrock", resource="inference-profile", resource_name=model_id
                )
            )
            resources.append(
                f"arn:{stack.partition}:bedrock:*::foundation-model/{model_id.split('.', 1)[1]}"
            )
        else:
            resources.append(
                f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model_id}"
            )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=resources)
    )
    Validations.of(role).acknowledge(
        *[
            iam_acknowledgment(
                role,
                "Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/"
                + model_id.split(".", 1)[1],
                "A cross-region inference profile routes to this model in any of its regions.",
            )
            for model_id in model_ids
            if model_id.split(".", 1)[0] in CROSS_REGION_PREFIXES
        ]
    )


def grant_key_decrypt(role: iam.IRole, key: kms.IKey) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn])
    )


def grant_key_encrypt(role: iam.IRole, key: kms.IKey) -> None:
    # Decrypt too: multipart uploads (large transcripts, copies) read back the data key.
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
    )
