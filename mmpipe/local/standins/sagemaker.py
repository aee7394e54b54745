"""SageMaker Processing stand-in for `sagemaker:createProcessingJob.sync`: stage the S3 inputs
in the SageMaker layout, run the job in-process, upload the outputs, describe the job.

What SageMaker and Step Functions refuse is refused here too: the request is checked against
the CreateProcessingJob API model; the state machine's role must be allowed to create, pass
the job role, tag, and manage the `.sync` completion rule; the job's own role stages the
inputs (listing each S3Prefix, reading, decrypting) and the outputs (writing, encrypting),
and must be allowed to use the volume and output keys. A refused creation fails the task as
`SageMaker.AmazonSageMakerException`; a refused staging fails the job with a ClientError
reason, as SageMaker reports it.
"""

from __future__ import annotations

import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mmpipe.local.api_requests import RequestRejected, check_request
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.iam.identity import Identities, acting_as
from mmpipe.local.iam.policies import Permission
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.template import ACCOUNT_ID, REGION

INPUT_ROOT = PurePosixPath("/opt/ml/processing/input")
OUTPUT_ROOT = PurePosixPath("/opt/ml/processing/output")
# The "code" input is the job's own source; in-process, that is this checkout's processing/.
CODE_INPUT = "code"

JobRunner = Callable[[Path, Path], Any]


def real_job(input_root: Path, output_root: Path) -> Any:
    from processing.job import run_job  # noqa: PLC0415 - av/numpy only when a job runs

    return run_job(input_root, output_root)


def stub_job(input_root: Path, output_root: Path) -> Any:
    """Fast and deterministic: a valid, empty alignment report (nothing to align)."""
    from pipeline_contracts.item import ItemPlan  # noqa: PLC0415
    from pipeline_contracts.work.alignment import AlignmentReport  # noqa: PLC0415

    plan = ItemPlan.model_validate_json((input_root / "plan" / "plan.json").read_bytes())
    report = AlignmentReport(item_id=plan.item_id, warnings=["stub alignment (local)"])
    out = output_root / "alignment"
    out.mkdir(parents=True, exist_ok=True)
    (out / "alignment.json").write_text(report.model_dump_json(indent=2))
    return report


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _under(root: PurePosixPath, local_path: str) -> PurePosixPath:
    return PurePosixPath(local_path).relative_to(root)


class CreationRefused(Exception):
    """CreateProcessingJob itself was refused: Step Functions fails the task with `error`."""

    def __init__(self, cause: str, error: str = "SageMaker.AmazonSageMakerException") -> None:
        super().__init__(cause)
        self.error = error


# The rule Step Functions manages to learn that a `.sync` processing job ended.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerProcessingJobsRule"


class LocalProcessing:
    """A moto_patches.shared.ProcessingRunner: CreateProcessingJob -> DescribeProcessingJob."""

    def __init__(
        self,
        run: JobRunner,
        faults: Faults,
        identities: Identities,
        enforcement: Enforcement | None,
        state_machine_role: str,
        quotas: EmulatedQuotas | None = None,
    ) -> None:
        self._quotas = quotas
        self._run = run
        self._faults = faults
        self._identities = identities
        self._enforcement = enforcement
        self._state_machine_role = state_machine_role
        # One S3 client for staging (it signs as whoever acts, when it calls).
        self._s3: Any = None

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        self._check_creation(request)
        if self._quotas is None:
            return self._job(request)
        instance_type = str(request["ProcessingResources"]["ClusterConfig"]["InstanceType"])
        refused = self._quotas.processing_instance_started(instance_type)
        if refused:
            raise CreationRefused(refused, "SageMaker.ResourceLimitExceededException")
        try:
            return self._job(request)
        finally:
            self._quotas.processing_instance_ended()

    def _job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request["ProcessingJobName"])
        description: dict[str, Any] = {
            "ProcessingJobName": name,
            "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/"
            f"{name.lower()}",
            "ProcessingInputs": request.get("ProcessingInputs", []),
            "ProcessingOutputConfig": request.get("ProcessingOutputConfig", {}),
            "AppSpecification": request.get("AppSpecification", {}),
            "RoleArn": request.get("RoleArn"),
        }
        try:
            if self._faults.sagemaker_fail:
                raise RuntimeError("AlgorithmError: the job exited with code 1 (injected failure)")
            job_role = self._identities.assume(str(request["RoleArn"]), "SageMaker")
            self._check_job_role(request)
            with tempfile.TemporaryDirectory(prefix=f"{name[:40]}-") as scratch:
                input_root, output_root = Path(scratch, "input"), Path(scratch, "output")
                with acting_as(job_role):
                    self._stage(request.get("ProcessingInputs", []), input_root)
                output_root.mkdir(parents=True)
                self._run(input_root, output_root)
                with acting_as(job_role):
                    self._upload(request.get("ProcessingOutputConfig", {}), output_root)
        except ClientError as error:
            description.update(
                ProcessingJobStatus="Failed", FailureReason=f"ClientError: {error}"[:1000]
            )
            return description
        except Exception as error:
            description.update(
                ProcessingJobStatus="Failed",
                FailureReason=f"{type(error).__name__}: {error}"[:1000],
                ExitMessage=traceback.format_exc(limit=3)[-1000:],
            )
            return description
        description["ProcessingJobStatus"] = "Completed"
        return description

    # --- what is refused -----------------------------------------------------------------

    def _check_creation(self, request: dict[str, Any]) -> None:
        try:
            check_request("sagemaker", "CreateProcessingJob", request)
        except RequestRejected as rejected:
            raise CreationRefused(
                f"{rejected.message} (Service: AmazonSageMaker; Status Code: "
                "400; Error Code: ValidationException)"
            ) from rejected
        name = str(request["ProcessingJobName"]).lower()
        job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/{name}"
        needs = [
            Permission("sagemaker:CreateProcessingJob", job),
            # .sync reads the job's state until it ends.
            Permission("sagemaker:DescribeProcessingJob", job),
            Permission(
                "iam:PassRole",
                str(request["RoleArn"]),
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
            ),
        ]
        if request.get("Tags"):
            needs.append(Permission("sagemaker:AddTags", job))
        rule = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{SYNC_RULE}"
        needs += [
            Permission(f"events:{action}", rule)
            for action in ("PutTargets", "PutRule", "DescribeRule")
        ]
        self._require_all(self._state_machine_role, needs, "CreateProcessingJob")

    def _check_job_role(self, request: dict[str, Any]) -> None:
        """Keys the job's own role must be allowed to use (staging is checked as it happens)."""
        needs = []
        volume_key = (
            request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId")
        )
        if volume_key:
            needs.append(
                Permission(
                    "kms:CreateGrant", str(volume_key), {"kms:GrantIsForAWSResource": "true"}
                )
            )
        output_key = request.get("ProcessingOutputConfig", {}).get("KmsKeyId")
        if output_key:
            needs.append(Permission("kms:Encrypt", str(output_key)))
        for entry in request.get("ProcessingInputs", []):
            if entry.get("InputName") == CODE_INPUT and "S3Input" in entry:
                # The code asset lives in the CDK bootstrap bucket, which local mode does not
                # create: check what SageMaker would need to stage it.
                bucket, prefix = _split(entry["S3Input"]["S3Uri"])
                needs += [
                    Permission("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix}),
                    Permission("s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}"),
                ]
        try:
            self._require_all(str(request["RoleArn"]), needs, "CreateProcessingJob")
        except CreationRefused as refused:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": str(refused)}}, "CreateProcessingJob"
            ) from refused

    def _require_all(self, role_arn: str, needs: list[Permission], operation: str) -> None:
        if self._enforcement is None:
            return
        credentials = self._identities.assume(
            role_arn, "StepFunctions" if role_arn == self._state_machine_role else "SageMaker"
        )
        principal = self._identities.principal_for(credentials.access_key)
        assert principal is not None
        for permission in needs:
            try:
                self._enforcement.require(principal, permission, operation)
            except PermissionError as denied:
                raise CreationRefused(
                    f"{denied} (Service: AmazonSageMaker; Status Code: 400; "
                    "Error Code: AccessDeniedException)"
                ) from denied

    # --- staging, as the job's role ----------------------------------------------------------

    def _stage(self, inputs: list[dict[str, Any]], input_root: Path) -> None:
        s3 = self._s3_client()
        for entry in inputs:
            if entry.get("InputName") == CODE_INPUT or "S3Input" not in entry:
                continue
            s3_input = entry["S3Input"]
            bucket, prefix = _split(s3_input["S3Uri"])
            target = input_root / _under(INPUT_ROOT, s3_input["LocalPath"])
            target.mkdir(parents=True, exist_ok=True)
            # S3DataType S3Prefix: every object under the prefix, as SageMaker lists them.
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for found in page.get("Contents", []):
                    key = str(found["Key"])
                    relative = key[len(prefix) :].lstrip("/") or PurePosixPath(key).name
                    (target / relative).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, key, str(target / relative))

    def _s3_client(self) -> Any:
        if self._s3 is None:
            self._s3 = boto3.client("s3", region_name=REGION)
        return self._s3

    def _upload(self, config: dict[str, Any], output_root: Path) -> None:
        s3 = self._s3_client()
        for output in config.get("Outputs", []):
            s3_output = output["S3Output"]
            bucket, prefix = _split(s3_output["S3Uri"])
            source = output_root / _under(OUTPUT_ROOT, s3_output["LocalPath"])
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}"
                s3.put_object(Bucket=bucket, Key=key.lstrip("/"), Body=path.read_bytes())
