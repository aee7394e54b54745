"""A pipeline Lambda function: its own role, its own encrypted log group, tracing on.

Every function runs the same code asset (lambdas/) and dependency layer; only the handler,
the environment and the grants differ. Grants are written next to the resources by the caller.
A task function (one the state machine invokes) is told the same three things as every other.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import Duration, RemovalPolicy, Size, Validations
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IValidation
from pydantic import ValidationError

from pipeline.config import PipelineConfig
from pipeline.environment import ENVIRONMENTS
from stacks.constructs.grants import grant_key_decrypt, grant_key_encrypt, iam_acknowledgment
from stacks.constructs.storage import Storage
from stacks.constructs.thresholds import ThresholdParameters

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SOURCE = PROJECT_ROOT / "lambdas"
LAYER_SOURCE = PROJECT_ROOT / "build" / "lambda-layer"
# The newest Lambda Python runtime: every wheel the layer needs is published for it.
RUNTIME = lambda_.Runtime.PYTHON_3_14
# x86_64 so that the bundled libmagic in the layer is the one the tests load on this machine.
ARCHITECTURE = lambda_.Architecture.X86_64


class SharedLambdaCode(Construct):
    """The code asset and the dependency layer, built once and shared by every function."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        if not (LAYER_SOURCE / "python").is_dir():
            raise FileNotFoundError(
                f"{LAYER_SOURCE}/python is missing: run `make layer` (part of `make dev`) once "
                "to build the Lambda dependency layer before synthesizing."
            )
        self.code = lambda_.Code.from_asset(
            str(LAMBDA_SOURCE), exclude=["**/__pycache__", "**/*.pyc"]
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(LAYER_SOURCE)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools, pydantic, python-magic with libmagic, Pillow, PyAV, pysubs2",
        )


@jsii.implements(IValidation)
class _EnvironmentCheck:
    def __init__(self, function: PipelineFunction) -> None:
        self._function = function

    def validate(self) -> list[str]:
        return self._function.environment_problems()


class PipelineFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        shared: SharedLambdaCode,
        key: kms.IKey,
        config: PipelineConfig,
        environment: dict[str, str] | None = None,
        memory_mb: int = 512,
        timeout: Duration | None = None,
        ephemeral_storage_mb: int = 512,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = encrypted_log_group(self, key, config)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Least privilege for the {construct_id} function",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy: only its own log group.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.handler = f"pipeline.handlers.{handler}.handler"
        self._environment: dict[str, str] = {
            "POWERTOOLS_SERVICE_NAME": "multimodal-pipeline",
            "POWERTOOLS_METRICS_NAMESPACE": "MultimodalPipeline",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # The SDK's own retries, stated rather than left to its defaults: a few quick
            # attempts, then the state machine's Retry (backoff over minutes) takes over.
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "3",
            "PIPELINE_CONFIG": config.model_dump_json(),
            **(environment or {}),
        }
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=self.handler,
            code=shared.code,
            layers=[shared.layer],
            role=self.role,
            memory_size=memory_mb,
            timeout=timeout or Duration.seconds(60),
            ephemeral_storage_size=Size.mebibytes(ephemeral_storage_mb),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment_encryption=key,
            environment=self._environment,
        )
        grant_key_decrypt(self.role, key)

        Validations.of(self.role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::*",
                "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.",
            )
        )
        self._key = key
        self._failures_kept = False  # an on-failure destination, set by event_target()
        self.function_arn = self.function.function_arn
        # What an item's bill multiplies this function's run time by.
        self.memory_mb = memory_mb
        # The handler's environment model, checked at synth: a missing variable fails here.
        self.node.add_validation(_EnvironmentCheck(self))

    def add_environment(self, name: str, value: str) -> None:
        self._environment[name] = value
        self.function.add_environment(name, value)

    def environment_problems(self) -> list[str]:
        model = ENVIRONMENTS.get(self.handler)
        if model is None:
            return [f"{self.handler} has no environment model in pipeline.environment"]
        try:
            model.load(self._environment)
        except ValidationError as error:
            return [f"{self.node.path} ({self.handler}): {error}"]
        return []

    def event_target(self, dead_letter_queue: sqs.IQueue) -> targets.LambdaFunction:
        """This function as an EventBridge rule's target: an event EventBridge cannot deliver
        is retried for hours, then kept in `dead_letter_queue`; an event the function fails on
        (Lambda retries an asynchronous invocation twice) goes to the same queue through the
        function's on-failure destination. Neither is dropped."""
        if not self._failures_kept:
            # L1, with the grants written out: SqsDestination would grant kms:ReEncrypt* and
            # the like (action wildcards) for the encrypted queue.
            failed_events = lambda_.CfnEventInvokeConfig(
                self,
                "FailedEvents",
                function_name=self.function.function_name,
                qualifier="$LATEST",
                maximum_retry_attempts=2,
                destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                    on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(
                        destination=dead_letter_queue.queue_arn
                    )
                ),
            )
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn]
                )
            )
            grant_key_encrypt(self.role, self._key)  # the queue is encrypted with the key
            # CloudFormation checks the role may send there when it creates the config.
            failed_events.node.add_dependency(self.role)
            self._failures_kept = True
        return targets.LambdaFunction(
            self.function,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=8,
            max_event_age=Duration.hours(6),
        )


class TaskFunctions(Construct):
    """A business construct whose state-machine tasks share the code asset, the storage and
    the thresholds: `_task` builds one of them with what every task is told. Each construct
    builds its own parts in `_build`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        shared: SharedLambdaCode,
        storage: Storage,
        thresholds: ThresholdParameters,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config, self._shared, self._storage = config, shared, storage
        self._thresholds = thresholds
        self._build()

    def _build(self) -> None:
        raise NotImplementedError

    def _task(
        self, construct_id: str, handler: str, description: str, **sizing: object
    ) -> PipelineFunction:
        """A function the state machine invokes. Every task is told both buckets and where
        the thresholds are, whether or not its handler reads them."""
        return PipelineFunction(
            self,
            construct_id,
            handler=handler,
            description=description,
            shared=self._shared,
            key=self._storage.key,
            config=self._config,
            environment={
                "INGEST_BUCKET": self._storage.ingest.bucket_name,
                "PROCESSED_BUCKET": self._storage.processed.bucket_name,
                "THRESHOLDS_PARAMETER_PATH": self._thresholds.path,
            },
            **sizing,  # type: ignore[arg-type]
        )


_RETENTION_STEPS = [
    (1, logs.RetentionDays.ONE_DAY),
    (3, logs.RetentionDays.THREE_DAYS),
    (5, logs.RetentionDays.FIVE_DAYS),
    (7, logs.RetentionDays.ONE_WEEK),
    (14, logs.RetentionDays.TWO_WEEKS),
    (30, logs.RetentionDays.ONE_MONTH),
    (60, logs.RetentionDays.TWO_MONTHS),
    (90, logs.RetentionDays.THREE_MONTHS),
    (120, logs.RetentionDays.FOUR_MONTHS),
    (150, logs.RetentionDays.FIVE_MONTHS),
    (180, logs.RetentionDays.SIX_MONTHS),
    (365, logs.RetentionDays.ONE_YEAR),
    (400, logs.RetentionDays.THIRTEEN_MONTHS),
    (545, logs.RetentionDays.EIGHTEEN_MONTHS),
    (731, logs.RetentionDays.TWO_YEARS),
    (1827, logs.RetentionDays.FIVE_YEARS),
    (3653, logs.RetentionDays.TEN_YEARS),
]


def encrypted_log_group(scope: Construct, key: kms.IKey, config: PipelineConfig) -> logs.LogGroup:
    """A KMS-encrypted log group with the configured retention."""
    return logs.LogGroup(
        scope,
        "Logs",
        encryption_key=key,
        retention=log_retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )


def log_retention(days: int) -> logs.RetentionDays:
    """The shortest retention CloudWatch offers that keeps logs at least `days` days."""
    for step, retention in _RETENTION_STEPS:
        if step >= days:
            return retention
    return logs.RetentionDays.TEN_YEARS
