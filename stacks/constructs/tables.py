"""DynamoDB tables: Transcribe task tokens, and Powertools idempotency records."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.grants import grant_key_encrypt


def _table(
    scope: Construct, construct_id: str, key: kms.IKey, partition_key: str
) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute="expiration",
        removal_policy=RemovalPolicy.DESTROY,
    )


# What each user of a table calls (single items only).
PARK_TOKENS = ("dynamodb:PutItem", "dynamodb:DeleteItem")  # park; forget after a late answer
FORGET_TOKENS = ("dynamodb:DeleteItem",)  # a token whose task timed out
TAKE_TOKENS = ("dynamodb:GetItem", "dynamodb:DeleteItem")  # take, then forget
IDEMPOTENCY_RECORDS = (  # Powertools idempotency: put, read on conflict, complete, release
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)


def grant_item_access(
    table: dynamodb.ITable, role: iam.IRole, key: kms.IKey, actions: tuple[str, ...]
) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])
    )
    grant_key_encrypt(role, key)


class Tables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # job name -> Step Functions task token, so the Transcribe state-change event can
        # resume the waiting execution without any polling.
        self.task_tokens = _table(self, "TranscribeTaskTokens", key, "job_name")
        # Powertools idempotency: a retried result write does not publish twice.
        self.idempotency = _table(self, "Idempotency", key, "id")
