"""SageMaker Processing stand-in for `sagemaker:createProcessingJob.sync`: stage the S3 inputs
in the SageMaker layout, run the job in-process, upload the outputs, describe the job."""

from __future__ import annotations

import json
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from mmpipe.local.faults import Faults
from pipeline.adapters.storage import ObjectStore
from pipeline.models.item import ObjectRef

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
    from processing.report import AlignmentReport  # noqa: PLC0415

    plan = json.loads((input_root / "plan" / "plan.json").read_text())
    report = AlignmentReport(item_id=plan.get("item_id"), warnings=["stub alignment (local)"])
    out = output_root / "alignment"
    out.mkdir(parents=True, exist_ok=True)
    (out / "alignment.json").write_text(report.model_dump_json(indent=2))
    return report


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def _under(root: PurePosixPath, local_path: str) -> PurePosixPath:
    return PurePosixPath(local_path).relative_to(root)


class LocalProcessing:
    """A moto_patches.ProcessingRunner: CreateProcessingJob request -> DescribeProcessingJob."""

    def __init__(self, store: ObjectStore, run: JobRunner, faults: Faults) -> None:
        self._store = store
        self._run = run
        self._faults = faults

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request["ProcessingJobName"])
        description: dict[str, Any] = {
            "ProcessingJobName": name,
            "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{name}",
            "ProcessingInputs": request.get("ProcessingInputs", []),
            "ProcessingOutputConfig": request.get("ProcessingOutputConfig", {}),
            "AppSpecification": request.get("AppSpecification", {}),
            "RoleArn": request.get("RoleArn"),
        }
        try:
            if self._faults.sagemaker_fail:
                raise RuntimeError("AlgorithmError: the job exited with code 1 (injected failure)")
            with tempfile.TemporaryDirectory(prefix=f"{name[:40]}-") as scratch:
                input_root, output_root = Path(scratch, "input"), Path(scratch, "output")
                self._stage(request.get("ProcessingInputs", []), input_root)
                output_root.mkdir(parents=True)
                self._run(input_root, output_root)
                self._upload(request.get("ProcessingOutputConfig", {}), output_root)
        except Exception as error:
            description.update(ProcessingJobStatus="Failed",
                               FailureReason=f"{type(error).__name__}: {error}"[:1000],
                               ExitMessage=traceback.format_exc(limit=3)[-1000:])
            return description
        description["ProcessingJobStatus"] = "Completed"
        return description

    def _stage(self, inputs: list[dict[str, Any]], input_root: Path) -> None:
        for entry in inputs:
            if entry.get("InputName") == CODE_INPUT or "S3Input" not in entry:
                continue
            s3_input = entry["S3Input"]
            bucket, prefix = _split(s3_input["S3Uri"])
            target = input_root / _under(INPUT_ROOT, s3_input["LocalPath"])
            target.mkdir(parents=True, exist_ok=True)
            for key in self._store.list_keys(bucket, prefix):
                relative = key[len(prefix):].lstrip("/") or PurePosixPath(key).name
                self._store.download(ObjectRef(bucket=bucket, key=key), target / relative)

    def _upload(self, config: dict[str, Any], output_root: Path) -> None:
        for output in config.get("Outputs", []):
            s3_output = output["S3Output"]
            bucket, prefix = _split(s3_output["S3Uri"])
            source = output_root / _under(OUTPUT_ROOT, s3_output["LocalPath"])
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}"
                self._store.put_bytes(bucket, key.lstrip("/"), path.read_bytes(),
                                      "application/octet-stream")
