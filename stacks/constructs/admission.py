"""Admission control: the capacity ledger every execution takes the account's quotas from,
and the rule that gives back what an item still holds when its execution ends.

The functions that spend a quota (starting a Transcribe job, a Bedrock call, a SageMaker
job's instance) are built by their business constructs; `admit` tells each where the ledger
is and grants it the ledger's item actions, nothing more (lambdas/pipeline/domain/admission.py).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.encrypted import encrypted_table
from stacks.constructs.execution_endings import execution_endings_rule
from stacks.constructs.grants import grant_item_access
from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode

# Take or give back a slot (conditional UpdateItem, GetItem to see who holds), take from a
# model's bucket (GetItem, then a conditional PutItem).
LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem")


class Admission(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        shared: SharedLambdaCode,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config, self._shared, self._key = config, shared, key
        # One item per quota: "slots#transcribe", "rate#bedrock#<model>", ...
        self.ledger: dynamodb.Table = encrypted_table(self, "CapacityLedger", key, "quota")

    def admit(self, *functions: PipelineFunction) -> None:
        for function in functions:
            function.add_environment("CAPACITY_TABLE", self.ledger.table_name)
            grant_item_access(self.ledger, function.role, self._key, LEDGER_ACTIONS)

    def release_at_endings_of(
        self, state_machine: sfn.IStateMachine, *, dead_letter_queue: sqs.IQueue
    ) -> None:
        """Every ending of `state_machine` gives back the slots its item still holds."""
        self.releaser = PipelineFunction(
            self,
            "Releaser",
            handler="release_capacity",
            description="Gives back the capacity an item still holds when its execution ends",
            shared=self._shared,
            key=self._key,
            config=self._config,
            memory_mb=256,
        )
        self.admit(self.releaser)
        # It finds the item's slots among the ledger's few pools (one item per quota).
        self.releaser.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[self.ledger.table_arn])
        )
        self.rule = execution_endings_rule(
            self,
            "ExecutionEnded",
            state_machine=state_machine,
            statuses=["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
            target=self.releaser,
            dead_letter_queue=dead_letter_queue,
            description="Every ending of the pipeline's executions, to give back capacity",
        )
