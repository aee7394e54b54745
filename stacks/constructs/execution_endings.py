"""A rule on the pipeline's executions ending: Step Functions puts an "Execution Status
Change" event on the default bus for every ending, and more than one concern listens (the
endings recorder, the capacity releaser). One way to build such a rule."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.pipeline_function import PipelineFunction


def execution_endings_rule(
    scope: Construct,
    construct_id: str,
    *,
    state_machine: sfn.IStateMachine,
    statuses: list[str],
    target: PipelineFunction,
    dead_letter_queue: sqs.IQueue,
    description: str,
) -> events.Rule:
    return events.Rule(
        scope,
        construct_id,
        description=description,
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={"stateMachineArn": [state_machine.state_machine_arn], "status": statuses},
        ),
        targets=[target.event_target(dead_letter_queue)],
    )
