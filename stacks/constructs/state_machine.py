"""The pipeline state machine, from statemachines/pipeline.asl.json.

The ASL file is the single definition: it is deployed as is (with ARN and name
substitutions), and local mode and the tests execute the synthesized copy of it.
From a file CDK adds no IAM statements for the tasks, so every grant is written here.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.alignment_job import ENTRYPOINT, JOB_NAME_PREFIX, AlignmentJob
from stacks.constructs.grants import grant_key_encrypt, iam_acknowledgment
from stacks.constructs.pipeline_function import encrypted_log_group
from stacks.constructs.pipeline_functions import PipelineFunctions

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachines" / "pipeline.asl.json"


class PipelineStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        key: kms.IKey,
        functions: PipelineFunctions,
        alignment_job: AlignmentJob,
        failed_items_queue: sqs.IQueue,
        unsent_events_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = encrypted_log_group(self, key, config)
        substitutions = {
            "IntakeGateFunctionArn": functions.intake_gate.function_arn,
            "QuarantineFunctionArn": functions.quarantine.function_arn,
            "BundleFileFunctionArn": functions.bundle_file.function_arn,
            "StartTranscriptionFunctionArn": functions.start_transcription.function_arn,
            "RecoverTranscriptionFunctionArn": functions.recover_transcription.function_arn,
            "ExtractAudioFunctionArn": functions.extract_audio.function_arn,
            "TranscriptGateFunctionArn": functions.transcript_gate.function_arn,
            "PrepareMediaFunctionArn": functions.prepare_media.function_arn,
            "AnalyzeMediaFunctionArn": functions.analyze_media.function_arn,
            "VisionGateFunctionArn": functions.vision_gate.function_arn,
            "AlignmentGateFunctionArn": functions.alignment_gate.function_arn,
            "FusionFunctionArn": functions.fusion.function_arn,
            "FinalGateFunctionArn": functions.final_gate.function_arn,
            "ResultWriterFunctionArn": functions.result_writer.function_arn,
            "FailureRecorderFunctionArn": functions.failure_recorder.function_arn,
            "AlignmentJobRoleArn": alignment_job.role.role_arn,
            "AlignmentImageUri": alignment_job.image_uri,
            "AlignmentInstanceType": config.alignment.instance_type,
            "AlignmentEntrypoint": ENTRYPOINT,
            "AlignmentCodeS3Uri": alignment_job.code_s3_uri,
            "KeyArn": key.key_arn,
            "FailedItemsQueueUrl": failed_items_queue.queue_url,
            "UnsentEventsQueueUrl": unsent_events_queue.queue_url,
        }
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_file(str(ASL_PATH)),
            definition_substitutions=substitutions,
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            # Bounded; the config checks at synth that every wait fits inside it.
            timeout=Duration.seconds(config.execution_timeout_s),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(
                key, Duration.minutes(5)
            ),
        )
        self._grant(functions, alignment_job, [failed_items_queue, unsent_events_queue], key)

    def _grant(
        self,
        functions: PipelineFunctions,
        alignment_job: AlignmentJob,
        queues: list[sqs.IQueue],
        key: kms.IKey,
    ) -> None:
        role = self.state_machine.role
        # Unqualified ARNs only: the definition invokes $LATEST of each function.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in functions.all],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[queue.queue_arn for queue in queues]
            )
        )
        stack = Stack.of(self)
        # "Announce the result": the ItemProcessed event, on the default bus.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[
                    stack.format_arn(
                        service="events", resource="event-bus", resource_name="default"
                    )
                ],
            )
        )
        # Its own execution-data encryption, and the KMS-encrypted failed-items queue.
        grant_key_encrypt(role, key)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[alignment_job.job_arn_pattern],
            )
        )
        Validations.of(role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::*",
                "X-Ray tracing and CloudWatch Logs delivery (added by CDK for logging ALL) have "
                "no resource-level permissions.",
            ),
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
                f"processing-job/{JOB_NAME_PREFIX}*",
                "One job per item, named at run time; all carry this pipeline's prefix.",
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[alignment_job.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        # .sync on SageMaker: Step Functions manages this rule to hear the job's completion.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
                    )
                ],
            )
        )
