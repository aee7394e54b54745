"""The workflow: the pipeline state machine, from statemachines/pipeline.asl.json.

The ASL file is the single definition: it is deployed as is (with ARN and name
substitutions), and local mode and the tests execute the synthesized copy of it.
Each business construct owns the functions and resources of its states; this one only
fills the definition's substitutions with them and grants the state machine's role what
its states call. From a file CDK adds no IAM statements for the tasks, so every grant is
written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from pipeline.config import PipelineConfig
from stacks.constructs.alignment_branch import ENTRYPOINT, JOB_NAME_PREFIX, AlignmentBranch
from stacks.constructs.audio_branch import AudioBranch
from stacks.constructs.grants import grant_key_encrypt, iam_acknowledgment
from stacks.constructs.intake import Intake
from stacks.constructs.pipeline_function import PipelineFunction, encrypted_log_group
from stacks.constructs.results import Results
from stacks.constructs.search import Search
from stacks.constructs.vision_branch import VisionBranch

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachines" / "pipeline.asl.json"


class PipelineWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        key: kms.IKey,
        intake: Intake,
        audio: AudioBranch,
        vision: VisionBranch,
        alignment: AlignmentBranch,
        results: Results,
        search: Search,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = encrypted_log_group(self, key, config)
        # Every function a state invokes, in the order of the definition's branches.
        self.tasks: list[PipelineFunction] = [
            *intake.tasks,
            *audio.tasks,
            *vision.tasks,
            *alignment.tasks,
            *results.tasks,
            *search.tasks,
        ]
        substitutions = {
            "IntakeGateFunctionArn": intake.intake_gate.function_arn,
            "QuarantineFunctionArn": intake.quarantine.function_arn,
            "BundleFileFunctionArn": intake.bundle_file.function_arn,
            "StartTranscriptionFunctionArn": audio.start_transcription.function_arn,
            "RecoverTranscriptionFunctionArn": audio.recover_transcription.function_arn,
            "ExtractAudioFunctionArn": audio.extract_audio.function_arn,
            "TranscriptGateFunctionArn": audio.transcript_gate.function_arn,
            "PrepareMediaFunctionArn": vision.prepare_media.function_arn,
            "AnalyzeMediaFunctionArn": vision.analyze_media.function_arn,
            "VisionGateFunctionArn": vision.vision_gate.function_arn,
            "ReserveAlignmentInstanceFunctionArn": alignment.reserve_instance.function_arn,
            "AlignmentGateFunctionArn": alignment.alignment_gate.function_arn,
            "FusionFunctionArn": results.fusion.function_arn,
            "FinalGateFunctionArn": results.final_gate.function_arn,
            "IndexForSearchFunctionArn": search.indexer.function_arn,
            "ResultWriterFunctionArn": results.result_writer.function_arn,
            "FailureRecorderFunctionArn": results.failure_recorder.function_arn,
            "AlignmentJobRoleArn": alignment.job_role.role_arn,
            "AlignmentImageUri": alignment.job_image_uri,
            "AlignmentInstanceType": config.alignment.instance_type,
            "AlignmentEntrypoint": ENTRYPOINT,
            "AlignmentCodeS3Uri": alignment.job_code_s3_uri,
            "KeyArn": key.key_arn,
            "FailedItemsQueueUrl": results.failed_items.queue_url,
            "UnsentEventsQueueUrl": results.unsent_events.queue_url,
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
        self._grant(alignment, [results.failed_items, results.unsent_events], key)
        # Each task state's function memory, for the bill the result writer prices.
        by_arn = {function.function_arn: function for function in self.tasks}
        self.memory_by_state = memory_by_state(
            json.loads(ASL_PATH.read_text()),
            {name: by_arn[value] for name, value in substitutions.items() if value in by_arn},
        )

    def _grant(self, alignment: AlignmentBranch, queues: list[sqs.IQueue], key: kms.IKey) -> None:
        role = self.state_machine.role
        # Unqualified ARNs only: the definition invokes $LATEST of each function.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in self.tasks],
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
                resources=[alignment.job_arn_pattern],
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
                resources=[alignment.job_role.role_arn],
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


_PLACEHOLDER = re.compile(r"^\$\{(\w+)\}$")


def memory_by_state(
    definition: dict[str, Any], functions: dict[str, PipelineFunction]
) -> dict[str, int]:
    """{state name: memory MB} of every state that invokes a pipeline function: directly
    (`"Resource": "${XFunctionArn}"`) or through `lambda:invoke` (`FunctionName`)."""
    memory: dict[str, int] = {}
    for name, state in _states(definition):
        target = state.get("Resource", "")
        if str(target).startswith("arn:aws:states:::lambda:invoke"):
            target = state.get("Parameters", {}).get("FunctionName", "")
        found = _PLACEHOLDER.match(str(target))
        if found and found.group(1) in functions:
            memory[name] = functions[found.group(1)].memory_mb
    return memory


def _states(scope: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in scope.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key])
