"""Stack-wide cdk-nag acknowledgments, for resources CDK itself adds. Each says why.

Grants in our own constructs acknowledge their findings where they are granted.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations

from stacks.constructs.grants import iam_acknowledgment


def acknowledge_findings(stack: Stack) -> None:
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
