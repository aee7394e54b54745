"""Collection: each item's execution, history and record, read back out of the emulated
account (which disappears with the run) and judged: exactly one record, in one place.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from pydantic import BaseModel, ValidationError

from mmpipe.local.resources import Deployment
from mmpipe.local.run.report import ItemOutcome
from mmpipe.local.run.uploads import MANIFEST
from mmpipe.local.template import REGION
from pipeline_contracts.naming import RECORD_KINDS, RecordKind, record_key
from pipeline_contracts.records import FailureRecord, ItemResult, QuarantineRecord


class Collector:
    """Fills in each outcome from its execution and record, and saves them under `out_dir`."""

    def __init__(self, out_dir: Path, timeout_s: float, esm_error: str | None) -> None:
        self.out_dir = out_dir
        self.timeout_s = timeout_s
        # Why the event source mappings failed, if they did (the pump's word for it).
        self.esm_error = esm_error
        # The record keys the run wrote, listed once (None: not listed yet): most items have
        # one record of three kinds, and asking S3 for the two missing ones was most of the
        # collection's requests.
        self._records: set[str] | None = None
        self._sfn: Any = None

    def _written(self, s3: Any, bucket: str) -> set[str]:
        if self._records is None:
            paginator = s3.get_paginator("list_objects_v2")
            self._records = {
                entry["Key"]
                for kind in RECORD_KINDS
                for page in paginator.paginate(Bucket=bucket, Prefix=f"{kind}/")
                for entry in page.get("Contents", [])
            }
        return self._records

    def collect(self, deployment: Deployment, outcome: ItemOutcome, s3: Any) -> None:
        if outcome.execution_arn is None or outcome.item_id is None:
            record = self._undispatched_record(s3, deployment, outcome.item_id)
            if record is not None:
                outcome.status = "NOT_STARTED"
                outcome.place = "failed"
                outcome.error = record["failure"]["error"]
                outcome.cause = record["failure"]["cause"]
                outcome.record_file = self._save("failures", str(outcome.item_id), record)
                return
            outcome.error = "NotStarted"
            outcome.cause = self.esm_error or (
                "no execution was started for this input, and no failure record says why "
                "(see lambda-logs.jsonl)"
            )
            return
        if self._sfn is None:
            self._sfn = boto3.client("stepfunctions", region_name=REGION)
        sfn = self._sfn
        described = sfn.describe_execution(executionArn=outcome.execution_arn)
        outcome.status = described["status"]
        outcome.history = _history(sfn, outcome.execution_arn)
        if described.get("stopDate") and described.get("startDate"):
            outcome.duration_s = (described["stopDate"] - described["startDate"]).total_seconds()
        histories = self.out_dir / "executions"
        histories.mkdir(parents=True, exist_ok=True)
        (histories / f"{outcome.item_id}.json").write_text(
            json.dumps(
                {
                    "executionArn": outcome.execution_arn,
                    "status": outcome.status,
                    "input": outcome.input,
                    "events": outcome.history,
                },
                indent=2,
                default=str,
            )
        )
        received_at = json.loads(described.get("input") or "{}").get("received_at")
        written_keys = self._written(s3, deployment.processed_bucket)
        keys = {
            kind: record_key(kind, outcome.item_id, received_at) if received_at else None
            for kind in RECORD_KINDS
        }
        records = {
            kind: _read_record(s3, deployment.processed_bucket, key)
            if key and key in written_keys
            else None
            for kind, key in keys.items()
        }
        written = sorted(kind for kind, document in records.items() if document)
        invalid = _breaks_its_schema(records)
        if invalid:
            # A record consumers cannot parse is no record: the run says so, by kind.
            outcome.error, outcome.cause = "InvalidRecord", invalid
            return
        if len(written) > 1:
            # The promise is one record per item: two places is as broken as none.
            outcome.error = "DuplicateRecords"
            outcome.cause = f"execution {outcome.status} and records in {' and '.join(written)}"
            return
        if (
            outcome.status in ("RUNNING", "ABORTED")
            and outcome.error is None
            and described.get("error") in (None, "LocalRunTimeout")
        ):
            outcome.status = "TIMED_OUT_LOCALLY"
            outcome.error = "StillRunning"
            outcome.cause = f"not finished within the run's {self.timeout_s:.0f} s limit"
        elif outcome.status == "SUCCEEDED" and records["results"]:
            document = records["results"]
            outcome.place = "degraded" if document.get("status") == "degraded" else "processed"
            outcome.record_file = self._save("results", outcome.item_id, document)
            self._save_derived(s3, outcome.item_id, document)
        elif outcome.status == "SUCCEEDED" and outcome.bundle_file and not written:
            outcome.in_bundle = True  # its bundle's record accounts for it
        elif outcome.status == "SUCCEEDED" and records["quarantine"]:
            outcome.place = "quarantined"
            outcome.record_file = self._save("quarantine", outcome.item_id, records["quarantine"])
        elif outcome.status in ("FAILED", "TIMED_OUT", "ABORTED") and records["failures"]:
            outcome.place = "failed"
            outcome.error = described.get("error")
            outcome.cause = described.get("cause")
            outcome.record_file = self._save("failures", outcome.item_id, records["failures"])
        elif outcome.status in ("FAILED", "TIMED_OUT", "ABORTED"):
            # Failed without a failure record: not a terminal place, a lost item.
            outcome.error = "NoRecord"
            outcome.cause = (
                f"execution {outcome.status} ({described.get('error')}: "
                f"{(described.get('cause') or '')[:300]}) but wrote no failure "
                "record"
            )
        else:
            outcome.error = "NoRecord"
            outcome.cause = (
                f"execution {outcome.status} but wrote no result, quarantine or failure record"
            )

    @staticmethod
    def _undispatched_record(
        s3: Any, deployment: Deployment, item_id: str | None
    ) -> dict[str, Any] | None:
        """The failure record of an object no execution was started for. Its day is the S3
        event's, which the runner never saw: look it up by name under failures/."""
        if item_id is None:
            return None
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=deployment.processed_bucket, Prefix="failures/"):
            for entry in page.get("Contents", []):
                if entry["Key"].endswith(f"/{item_id}.json"):
                    return _read_record(s3, deployment.processed_bucket, entry["Key"])
        return None

    def _save_derived(self, s3: Any, item_id: str, result: dict[str, Any]) -> None:
        """Copy the derived files a result points at (captions, keyframes, subtitles) out of
        the emulated bucket, which disappears with the run."""
        uris = list(result.get("derived_files", {}).values())
        for transcript in result.get("transcripts", []):
            uris += list(transcript.get("subtitle_uris", {}).values())
        for uri in uris:
            if not isinstance(uri, str) or not uri.startswith("s3://"):
                continue
            bucket, _, key = uri[5:].partition("/")
            target = self.out_dir / "derived" / item_id / key.rsplit("/", 1)[-1]
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def _save(self, kind: str, item_id: str, document: dict[str, Any]) -> Path:
        folder = self.out_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{item_id}.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False))
        return path


def check_bundle_files(outcomes: list[ItemOutcome]) -> None:
    """A bundle file counts as ended in its bundle only when a bundle's record accounts for
    that very key: a processed bundle lists it among its assets; a quarantined or failed one
    accounts for its whole folder. Its execution saying so is not enough."""
    listed: set[str] = set()
    folders: list[str] = []
    for outcome in outcomes:
        if outcome.bundle_file or outcome.record_file is None:
            continue
        record = json.loads(outcome.record_file.read_text())
        if record.get("kind") != "bundle" and not outcome.key.endswith("/" + MANIFEST):
            continue
        if outcome.place in ("processed", "degraded"):
            listed |= {asset["source"]["key"] for asset in record.get("assets", [])}
        else:
            folders.append(outcome.key.rsplit("/", 1)[0] + "/")
    for outcome in outcomes:
        if not outcome.in_bundle:
            continue
        if outcome.key in listed or any(outcome.key.startswith(f) for f in folders):
            continue
        outcome.in_bundle = False
        outcome.error = "NoRecord"
        outcome.cause = (
            "its execution ended as part of a bundle, but no bundle's record accounts for it"
        )


def _read_record(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The record at the key the pipeline's own record_key gives, if it was written there."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    document: dict[str, Any] = json.loads(body)
    return document


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


PUBLISHED_RECORDS: dict[RecordKind, type[BaseModel]] = {
    "results": ItemResult,
    "quarantine": QuarantineRecord,
    "failures": FailureRecord,
}


def _breaks_its_schema(records: Mapping[RecordKind, dict[str, Any] | None]) -> str | None:
    """Why a written record does not validate against its published model, if one does not."""
    for kind, document in records.items():
        if not document:
            continue
        try:
            PUBLISHED_RECORDS[kind].model_validate(document)
        except ValidationError as error:
            return f"the {kind} record breaks its published schema: {error}"[:2000]
    return None
