"""Alarms to an encrypted SNS topic (optional e-mail subscription) and one dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.pipeline_function import PipelineFunction

NAMESPACE = "MultimodalPipeline"
SERVICE_DIMENSION = {"service": "multimodal-pipeline"}
FIVE_MINUTES = Duration.minutes(5)


def pipeline_metric(name: str, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION,
        statistic="Sum",
        period=period,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        key: kms.IKey,
        state_machine: sfn.StateMachine,
        functions: list[PipelineFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
        waiting_queues: dict[str, sqs.IQueue] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        # CloudWatch publishes to the encrypted topic.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=FIVE_MINUTES),
            "An item failed: see its failure record under failures/ and the DLQ",
        )
        self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=FIVE_MINUTES),
            "An execution hit the state machine timeout",
        )
        self._alarm(
            "ExecutionsThrottled",
            state_machine.metric_throttled(period=FIVE_MINUTES),
            "Step Functions throttled the pipeline: raise quotas or slow ingestion",
        )
        for function in functions:
            name = function.node.path.split("/")[-1]
            self._alarm(
                f"{name}Errors",
                function.function.metric_errors(period=FIVE_MINUTES),
                f"The {name} function raised errors (retries may have recovered them)",
            )
            self._alarm(
                f"{name}Throttles",
                function.function.metric_throttles(period=FIVE_MINUTES),
                f"The {name} function was throttled",
            )
        for name, queue in (waiting_queues or {}).items():
            self._alarm(
                f"{name}Stuck",
                queue.metric_approximate_age_of_oldest_message(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                f"A message has waited in {name} for over 15 minutes: its consumer fails on it",
                threshold=15 * 60,
            )
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}NotEmpty",
                queue.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                f"Messages are waiting in {name}: inspect and redrive them",
            )
        # Uploads no item takes: bundle files no manifest lists, objects never dispatched.
        self._alarm(
            "UploadsWithoutItem",
            cloudwatch.MathExpression(
                expression="orphans + undispatched",
                using_metrics={
                    "orphans": pipeline_metric("BundleFilesWithoutBundle"),
                    "undispatched": pipeline_metric("ObjectsNotDispatched"),
                },
                label="Uploads no item takes",
                period=FIVE_MINUTES,
            ),
            "Uploads ended outside any item (a bundle file without its manifest, an object "
            "never dispatched): see their records under quarantine/ and failures/",
        )
        self.gate_rejection_rate = cloudwatch.MathExpression(
            # Only judged once there are enough verdicts to mean something.
            expression="IF(passed + failed >= 5, failed / (passed + failed), 0)",
            using_metrics={
                "passed": pipeline_metric("GatePassed", Duration.hours(1)),
                "failed": pipeline_metric("GateFailed", Duration.hours(1)),
            },
            label="Gate rejection rate",
            period=Duration.hours(1),
        )
        self._alarm(
            "GateRejectionRate",
            self.gate_rejection_rate,
            "More quality gates failed than configured: check inputs and models",
            threshold=config.gate_rejection_alarm_ratio,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self.dashboard = self._build_dashboard(state_machine, functions, dead_letter_queues)

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        threshold: float = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _build_dashboard(
        self,
        state_machine: sfn.StateMachine,
        functions: list[PipelineFunction],
        dead_letter_queues: dict[str, sqs.IQueue],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Items by terminal place",
                left=[
                    pipeline_metric(name)
                    for name in (
                        "ItemsProcessed",
                        "ItemsDegraded",
                        "ItemsQuarantined",
                        "ItemsFailed",
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(),
                    state_machine.metric_succeeded(),
                    state_machine.metric_failed(),
                    state_machine.metric_timed_out(),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Quality gates",
                left=[pipeline_metric("GatePassed"), pipeline_metric("GateFailed")],
                right=[self.gate_rejection_rate],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    queue.metric_approximate_number_of_messages_visible()
                    for queue in dead_letter_queues.values()
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[f.function.metric_errors() for f in functions],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (p90)",
                left=[f.function.metric_duration(statistic="p90") for f in functions],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                # Admission control: each count is a step told to wait for a quota (and retried
                # later); Lambda's own throttles are the account's concurrency running out.
                title="Work waiting for capacity, per service",
                left=[
                    pipeline_metric(f"{service}CapacityWaits")
                    for service in ("Bedrock", "Transcribe", "SageMaker")
                ],
                right=[
                    state_machine.metric("ExecutionThrottled", statistic="Sum"),
                    cloudwatch.MathExpression(
                        expression="SUM(METRICS())",
                        using_metrics={
                            f"t{index}": f.function.metric_throttles()
                            for index, f in enumerate(functions)
                        },
                        label="Lambda throttles",
                    ),
                ],
                width=24,
            ),
        )
        return dashboard
