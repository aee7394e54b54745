"""Stack-wide cdk-nag acknowledgments, for resources CDK itself adds. Each says why.

Grants in our own constructs acknowledge their findings where they are granted.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_sqs as sqs

from stacks.constructs.grants import iam_acknowledgment


def acknowledge_findings(
    stack: Stack, failed_items_queue: sqs.IQueue, unsent_events_queue: sqs.IQueue
) -> None:
    # event_bridge_enabled=True makes CDK add a singleton custom resource that turns on the
    # bucket's EventBridge notifications at deploy time; its role is CDK's, not ours.
    for child in stack.node.children:
        if child.node.id.startswith("BucketNotificationsHandler"):
            Validations.of(child).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                    "service-role/AWSLambdaBasicExecutionRole]",
                    reason="CDK's own deploy-time handler for bucket notifications; "
                    "it runs once per deployment and only writes its logs.",
                ),
                iam_acknowledgment(
                    stack,
                    "Resource::*",
                    "CDK's bucket-notification handler: s3:PutBucketNotification on the "
                    "stack's buckets at deploy time.",
                ),
            )
    Validations.of(failed_items_queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue of the pipeline: the state "
            "machine sends every failed item here; nothing consumes it automatically.",
        )
    )
    Validations.of(unsent_events_queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="An outbox, not a work queue: ItemProcessed events that could not be sent "
            "wait here for an operator's redrive; nothing consumes it automatically.",
        )
    )
