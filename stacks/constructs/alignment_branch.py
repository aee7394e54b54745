"""The alignment branch: an item's captions, scenes and quality metrics, aligned in time.

In the state machine it owns "Run alignment job" (a SageMaker Processing job that runs
processing/, createProcessingJob.sync, one per item) and "Check alignment quality"
(AlignmentGate). This construct holds what every job shares: its code asset and its role.
The job runs with network isolation: media, plan and code are staged in by SageMaker and the
report is staged out, so it needs no internet and no AWS API calls.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, CfnMapping, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets

from pipeline_contracts.naming import ALIGNMENT_JOB_PREFIX, WORK_PREFIX
from stacks.constructs.grants import (
    grant_missing_object_checks,
    grant_object_read,
    grant_object_write,
    grant_prefix_listing,
    grant_work_files,
    iam_acknowledgment,
)
from stacks.constructs.pipeline_function import (
    PipelineFunction,
    TaskFunctions,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JOB_NAME_PREFIX = ALIGNMENT_JOB_PREFIX
# The code asset is a zip (CDK zips directories); SageMaker stages it unopened, so the
# container unpacks it before running the job module.
ENTRYPOINT = (
    "set -e; mkdir -p /tmp/job/processing; "
    "python3 -m zipfile -e /opt/ml/processing/input/code/*.zip /tmp/job/processing; "
    "exec python3 /tmp/job/processing/run_in_container.py"
)
WHEELHOUSE = PROJECT_ROOT / "processing" / "wheelhouse"
DEFAULT_IMAGE = "sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
# AWS accounts that publish the SageMaker scikit-learn images, by region (SageMaker docs).
SKLEARN_IMAGE_ACCOUNTS = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "ca-central-1": "341280168497",
    "sa-east-1": "737474898029",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-south-1": "720646828776",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
}


class AlignmentBranch(TaskFunctions):
    def _build(self) -> None:
        self.job_image_uri = self._config.alignment.image_uri or self._default_image()
        self.job_code = self._build_job_code()
        self.job_role = self._build_job_role()
        self.job_arn_pattern = Stack.of(self).format_arn(
            service="sagemaker", resource="processing-job", resource_name=f"{JOB_NAME_PREFIX}*"
        )
        self.reserve_instance = self._task(
            "ReserveInstance",
            "reserve_alignment_instance",
            "Holds one of the account's processing instances for an item's alignment job",
            memory_mb=256,
        )
        self.alignment_gate = self._build_alignment_gate()

    @property
    def tasks(self) -> list[PipelineFunction]:
        """The functions the state machine invokes for the alignment branch."""
        return [self.reserve_instance, self.alignment_gate]

    @property
    def job_code_s3_uri(self) -> str:
        return self.job_code.s3_object_url

    def _default_image(self) -> str:
        mapping = CfnMapping(
            self,
            "ScikitLearnImageAccounts",
            mapping={
                region: {"account": account} for region, account in SKLEARN_IMAGE_ACCOUNTS.items()
            },
        )
        stack = Stack.of(self)
        account = mapping.find_in_map(stack.region, "account")
        return f"{account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{DEFAULT_IMAGE}"

    def _build_job_code(self) -> s3_assets.Asset:
        if not (WHEELHOUSE / ".complete").exists():
            raise FileNotFoundError(
                f"{WHEELHOUSE} is missing: run `make dev` once to download the alignment job's "
                "wheels for its image (the job runs with network isolation, so it installs them "
                "from the code asset)."
            )
        return s3_assets.Asset(
            self,
            "JobCode",
            path=str(PROJECT_ROOT / "processing"),
            exclude=["**/__pycache__", "**/*.pyc"],
        )

    def _build_job_role(self) -> iam.Role:
        ingest, processed, key = self._storage.ingest, self._storage.processed, self._storage.key
        ingest_prefix = self._config.ingest_prefix
        role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Alignment processing jobs: read staged inputs, write the report",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    f"arn:{Stack.of(self).partition}:s3:::{self.job_code.s3_bucket_name}/"
                    f"{self.job_code.s3_object_key}"
                ],
            )
        )
        # SageMaker stages the media and the plan in, and the report out, as this role. Every
        # input is an S3Prefix, which SageMaker lists before it copies.
        grant_object_read(role, ingest, ingest_prefix, key)
        grant_object_read(role, processed, WORK_PREFIX, key)
        grant_object_write(role, processed, WORK_PREFIX, key)
        stack = Stack.of(self)
        grant_prefix_listing(role, ingest.bucket_arn, [ingest_prefix])
        grant_prefix_listing(role, processed.bucket_arn, [WORK_PREFIX])
        grant_prefix_listing(
            role,
            f"arn:{stack.partition}:s3:::{self.job_code.s3_bucket_name}",
            [self.job_code.s3_object_key],
        )
        # ProcessingOutputConfig.KmsKeyId encrypts the report; VolumeKmsKeyId the instance's
        # storage volume, for which SageMaker creates a grant on the job's behalf.
        role.add_to_policy(iam.PolicyStatement(actions=["kms:Encrypt"], resources=[key.key_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/ProcessingJobs*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # Metrics have no resource-level permissions; scoped by namespace instead.
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                # ecr:GetAuthorizationToken has no resource-level permissions; it is needed
                # when image_uri names a private ECR image of your own.
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=[
                    stack.format_arn(
                        service="ecr", resource="repository", resource_name="*", account="*"
                    )
                ],
            )
        )
        Validations.of(role).acknowledge(
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
                "/aws/sagemaker/ProcessingJobs*",
                "SageMaker writes every processing job's logs into this AWS-named group.",
            ),
            iam_acknowledgment(
                self,
                "Resource::*",
                "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited by namespace) "
                "have no resource-level permissions.",
            ),
            iam_acknowledgment(
                self,
                "Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/*",
                "The image is configuration (image_uri) and SageMaker-managed images live in "
                "AWS-owned accounts that differ by region; pulls only.",
            ),
        )
        return role

    def _build_alignment_gate(self) -> PipelineFunction:
        gate = self._task(
            "AlignmentGate",
            "alignment_gate",
            "Reads the alignment report and checks sync score and media quality",
        )
        processed = self._storage.processed
        grant_work_files(gate.role, processed, self._storage.key)
        # A job that wrote no report is AlignmentFailed, not an access error.
        grant_missing_object_checks(gate.role, processed)
        self._thresholds.grant_read(gate.role)
        return gate
