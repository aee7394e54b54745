"""Orchestrate a local run: synthesize, emulate, ingest, pump the queue, collect the results.

Everything AWS-shaped runs inside one in-process moto (`mock_aws`), with the patches in
`moto_patches` and the stand-ins in `standins/`. The ingestion path runs as deployed:
S3 (EventBridge notifications) -> rule -> SQS buffer -> dispatcher Lambda -> executions.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import boto3
from botocore.exceptions import ClientError

from mmpipe.local import moto_patches
from mmpipe.local.faults import Faults, InjectedFault
from mmpipe.local.iam import identity
from mmpipe.local.iam.enforcement import Enforcement, Refusal
from mmpipe.local.iam.identity import Identities, acting_as
from mmpipe.local.iam.policies import Denials
from mmpipe.local.resources import Deployment, deploy
from mmpipe.local.standins.features import ocr_available
from mmpipe.local.standins.model import LocalBedrock, LocalModel
from mmpipe.local.standins.sagemaker import LocalProcessing, real_job, stub_job
from mmpipe.local.standins.speech import LocalTranscribe, StubRecognizer, WhisperRecognizer
from mmpipe.local.template import ACCOUNT_ID, REGION, CloudAssembly
from pipeline.domain.dispatch import is_os_metadata
from pipeline.domain.records import RECORD_KINDS, record_key

ProviderChoice = Literal["local", "stub"]
Place = Literal["processed", "degraded", "quarantined", "failed"]
PLACES: tuple[Place, ...] = ("processed", "degraded", "quarantined", "failed")
MANIFEST = "manifest.json"
DEFAULT_TIME_SCALE = 0.01
_BUSY_STATUSES = ("RUNNING", "PENDING_REDRIVE")


@dataclass(frozen=True)
class Upload:
    """One object put into the ingest bucket. `starts_item` for inputs (a loose file, a
    bundle's manifest); a bundle file's execution only finds the manifest that takes it."""

    path: Path
    key: str
    starts_item: bool


@dataclass(frozen=True)
class UploadPlan:
    uploads: list[Upload]
    # Symlinks that lead outside their folder: never followed, never uploaded.
    skipped: list[str] = field(default_factory=list)


@dataclass
class ItemOutcome:
    input: str
    key: str
    item_id: str | None = None
    execution_arn: str | None = None
    status: str = "NOT_STARTED"
    place: Place | None = None
    record_file: Path | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    duration_s: float | None = None
    # A bundle file (not an input): it either ends in its bundle, or with its own record.
    bundle_file: bool = False
    in_bundle: bool = False


@dataclass
class RunReport:
    outcomes: list[ItemOutcome]
    out_dir: Path
    elapsed_s: float
    time_scale: float
    providers: ProviderChoice
    faults: str
    synth_cached: bool
    definition: dict[str, Any]
    iam: bool = True
    cdk_out: Path | None = None
    refusals: list[Refusal] = field(default_factory=list)
    unmapped_operations: list[str] = field(default_factory=list)
    # The largest state or task result any execution carried (Step Functions refuses 256 KB).
    largest_state_bytes: int = 0
    # Bundle files their bundle's record accounts for (the others are in `outcomes`).
    files_in_bundles: int = 0
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(PLACES, 0)
        for outcome in self.outcomes:
            if outcome.place:
                counts[outcome.place] += 1
        return counts

    @property
    def unfinished(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.place is None]

    @property
    def ok(self) -> bool:
        return not self.unfinished and sum(self.counts().values()) == len(self.outcomes)


class ProgressSink:
    """What the runner tells the console: overridden by the rich view; silent by default."""

    def started(self, total: int) -> None: ...

    def finished(self, outcome: ItemOutcome) -> None: ...


def _inside(path: Path, folder: Path) -> bool:
    """A symlink is followed only when it resolves inside `folder`."""
    return path.resolve().is_relative_to(folder.resolve())


def plan_uploads(paths: list[Path], ingest_prefix: str, bundle_prefix: str) -> UploadPlan:
    """Files become items; a folder with manifest.json is one bundle (manifest uploaded last);
    a folder without one contributes its files and bundle sub-folders."""
    uploads: list[Upload] = []
    skipped: list[str] = []
    used: set[str] = set()

    def unique(key: str) -> str:
        stem, dot, suffix = key.rpartition(".")
        candidate, n = key, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}.{suffix}" if dot else f"{key}-{n}"
        used.add(candidate)
        return candidate

    def add_bundle(folder: Path) -> None:
        prefix = unique(f"{bundle_prefix}{folder.name}") + "/"
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not is_os_metadata(p.name))
        for path in files:
            if path == folder / MANIFEST:
                continue
            if not _inside(path, folder):
                skipped.append(f"{path}: a symlink to {path.resolve()}, outside {folder}")
                continue
            uploads.append(Upload(path, prefix + path.relative_to(folder).as_posix(), False))
        uploads.append(Upload(folder / MANIFEST, prefix + MANIFEST, True))

    for path in paths:
        if path.is_dir() and (path / MANIFEST).is_file():
            add_bundle(path)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if not _inside(child, path):
                    skipped.append(f"{child}: a symlink to {child.resolve()}, outside {path}")
                elif child.is_dir() and (child / MANIFEST).is_file():
                    add_bundle(child)
                elif (
                    child.is_file()
                    and not child.name.startswith(".")
                    and not is_os_metadata(child.name)
                ):
                    uploads.append(Upload(child, unique(ingest_prefix + child.name), True))
        elif path.is_file():
            uploads.append(Upload(path, unique(ingest_prefix + path.name), True))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return UploadPlan(uploads, skipped)


def plan_tree_uploads(root: Path, ingest_prefix: str, bundle_prefix: str) -> UploadPlan:
    """`root` laid out as the ingest prefix is: every file goes to the key its path names
    (bundles/..., nested folders, odd names), manifests last, as a careful user uploads."""
    uploads: list[Upload] = []
    skipped: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not is_os_metadata(p.name)):
        if not _inside(path, root):
            skipped.append(f"{path}: a symlink to {path.resolve()}, outside {root}")
            continue
        key = ingest_prefix + path.relative_to(root).as_posix()
        bundle_file = key.startswith(bundle_prefix) and path.name != MANIFEST
        uploads.append(Upload(path, key, not bundle_file))
    uploads.sort(key=lambda u: u.path.name == MANIFEST)
    return UploadPlan(uploads, skipped)


@dataclass
class _FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    timeout_s: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_s * 1000


class LambdaHost:
    """Runs the real handlers in-process (moto_patches.LambdaRunner), each signing its AWS
    calls with its own role's credentials, as the Lambda runtime provides them."""

    def __init__(
        self, functions: dict[str, Any], credentials: dict[str, Any], faults: Faults
    ) -> None:
        self._functions = functions
        self._credentials = credentials
        self._faults = faults
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.invocations = 0

    def handler_for(self, path: str) -> Callable[..., Any]:
        with self._lock:
            if path not in self._handlers:
                module_name, _, attribute = path.rpartition(".")
                self._handlers[path] = getattr(importlib.import_module(module_name), attribute)
            return self._handlers[path]

    def __call__(self, function_name: str, handler_path: str, event: Any) -> Any:
        with self._lock:
            self.invocations += 1
        module = handler_path.rpartition(".")[0].rpartition(".")[2]
        if self._faults.raises_in(module, event):
            raise InjectedFault(f"{module} raised on request (--inject lambda-raise={module})")
        function = self._functions.get(function_name)
        context = _FakeLambdaContext(
            function_name, timeout_s=function.timeout_s if function else 60
        )
        with acting_as(self._credentials[function_name]):
            result = self.handler_for(handler_path)(event, context)
        if module in self._faults.lambda_raise_after:
            raise InjectedFault(
                f"{module} raised after its work (--inject lambda-raise-after={module})"
            )
        return result


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def local_environment(deployment: Deployment) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would flood the console
        # Handlers share this process: each reads the SSM thresholds itself, with its role.
        "THRESHOLDS_MAX_AGE_S": "0",
        **deployment.environment,
    }


@contextlib.contextmanager
def _quiet_handlers(log_file: Path) -> Iterator[None]:
    """Send the handlers' Powertools JSON logs to a file instead of the console."""
    from pipeline.observability import logger  # noqa: PLC0415 - after the environment is set

    handler = logger.registered_handler
    with log_file.open("a", encoding="utf-8") as stream:
        previous = handler.setStream(stream) if isinstance(handler, logging.StreamHandler) else None
        try:
            yield
        finally:
            if isinstance(handler, logging.StreamHandler) and previous is not None:
                handler.setStream(previous)


class LocalRun:
    def __init__(
        self,
        cdk_out: Path,
        out_dir: Path,
        *,
        providers: ProviderChoice = "local",
        faults: Faults | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        timeout_s: float = 900.0,
        concurrency: int = 16,
        progress: ProgressSink | None = None,
        synth_cached: bool = True,
        iam: bool = True,
        tree: bool = False,
        callback_floor_s: int | None = None,
    ) -> None:
        self.assembly = CloudAssembly.load(cdk_out)
        self.tree = tree
        # Tests of a lost callback lower it (None: the default floor, there for real
        # recognition of long media).
        self.callback_floor_s = callback_floor_s
        self.skipped: list[str] = []
        self.files_in_bundles = 0
        self.cdk_out = cdk_out
        self.iam = iam
        if self.faults_need_iam(faults) and not iam:
            raise ValueError("--inject deny=... needs IAM enforcement (drop --no-iam)")
        self.out_dir = out_dir
        self.providers = providers
        self.faults = faults or Faults()
        self.time_scale = time_scale
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.progress = progress or ProgressSink()
        self.synth_cached = synth_cached
        self.enforcement: Enforcement | None = None
        self.esm_error: str | None = None

    @staticmethod
    def faults_need_iam(faults: Faults | None) -> bool:
        return bool(faults and faults.deny)

    def run(self, paths: list[Path]) -> RunReport:
        from moto import mock_aws  # noqa: PLC0415 - moto is heavy; only local mode needs it

        started = time.monotonic()
        config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                _environment(
                    {
                        "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local",
                        "AWS_DEFAULT_REGION": REGION,
                    }
                )
            )
            stack.enter_context(mock_aws(config=cast(Any, config)))
            # From here on every client signs as the operator, or as the function that runs.
            identity.install()
            identities = Identities(REGION)
            stack.enter_context(acting_as(identities.operator))
            stack.callback(identity.uninstall)
            deployment = deploy(self.assembly)
            stack.enter_context(_environment(local_environment(deployment)))
            from pipeline.settings import get_settings  # noqa: PLC0415 - env first

            get_settings.cache_clear()
            self.out_dir.mkdir(parents=True, exist_ok=True)
            stack.enter_context(_quiet_handlers(self.out_dir / "lambda-logs.jsonl"))
            outcomes = self._run_inside(deployment, identities, paths, stack)
        largest_state = moto_patches.largest_state_bytes(reset=True)
        report = RunReport(
            outcomes=outcomes,
            out_dir=self.out_dir,
            elapsed_s=time.monotonic() - started,
            time_scale=self.time_scale,
            providers=self.providers,
            faults=self.faults.describe(),
            synth_cached=self.synth_cached,
            definition=deployment.definition,
            iam=self.iam,
            cdk_out=self.cdk_out,
            refusals=list(self.enforcement.refusals) if self.enforcement else [],
            unmapped_operations=sorted(self.enforcement.unmapped) if self.enforcement else [],
            largest_state_bytes=largest_state,
            files_in_bundles=self.files_in_bundles,
            skipped=self.skipped,
        )
        _write_summary(report)
        return report

    def _run_inside(
        self,
        deployment: Deployment,
        identities: Identities,
        paths: list[Path],
        stack: contextlib.ExitStack,
    ) -> list[ItemOutcome]:
        from pipeline.adapters.model import BedrockModelClient  # noqa: PLC0415
        from pipeline.adapters.providers import Providers, use_providers  # noqa: PLC0415
        from pipeline.adapters.speech import TranscribeJobs  # noqa: PLC0415
        from pipeline.adapters.storage import S3ObjectStore  # noqa: PLC0415

        stub = self.providers == "stub"
        # The handlers use the real adapters; the stand-ins serve their APIs behind moto.
        use_providers(
            Providers(
                store=S3ObjectStore(),
                speech=TranscribeJobs(),
                model=BedrockModelClient(provider=self.providers),
                name=self.providers,
            )
        )
        stack.callback(use_providers, None)
        credentials = {
            f.name: identities.assume(f.role_arn, f.name) for f in deployment.functions.values()
        }
        self._credentials = credentials
        self._esm_credentials = credentials[deployment.dispatcher.name]
        host = LambdaHost(deployment.functions, credentials, self.faults)
        ledger = self.out_dir / "access-denied.jsonl"
        ledger.unlink(missing_ok=True)
        self.enforcement = (
            Enforcement(
                identities,
                denials=Denials(self.faults.deny),
                keys=deployment.keys,
                token_owner=deployment.state_machine_arn,
                ledger=ledger,
            )
            if self.iam
            else None
        )
        processing = LocalProcessing(
            stub_job if stub else real_job,
            self.faults,
            identities,
            self.enforcement,
            deployment.state_machine_role_arn,
        )
        transcribe = LocalTranscribe(
            StubRecognizer() if stub else WhisperRecognizer(),
            self.faults,
            identities.operator,
            self.enforcement,
        )
        stack.callback(transcribe.shutdown)
        bedrock = LocalBedrock(
            LocalModel(
                ocr=not stub and ocr_available(), faults=self.faults, provider=self.providers
            ),
            self.faults,
            self.enforcement,
        )
        moto_patches.install(
            lambda_runner=host,
            processing_runner=processing,
            scale=self.time_scale,
            transcribe=transcribe,
            bedrock=bedrock,
            enforcement=self.enforcement,
            faults=self.faults,
            callback_floor_s=self.callback_floor_s,
            state_machine_credentials=identities.assume(
                deployment.state_machine_role_arn, "StepFunctions"
            ),
        )
        stack.callback(moto_patches.uninstall)
        moto_patches.largest_state_bytes(reset=True)

        _warm_up(host, deployment)
        from pipeline.settings import get_settings  # noqa: PLC0415

        config = get_settings().pipeline_config
        if self.tree:
            (root,) = paths
            planned = plan_tree_uploads(root, config.ingest_prefix, config.bundle_prefix)
        else:
            planned = plan_uploads(paths, config.ingest_prefix, config.bundle_prefix)
        self.skipped = planned.skipped
        s3 = boto3.client("s3", region_name=REGION)
        # Every object starts an execution; bundle files are followed too, not counted.
        outcomes = {
            u.key: ItemOutcome(
                input=str(u.path.parent if u.path.name == MANIFEST and not self.tree else u.path),
                key=u.key,
                bundle_file=not u.starts_item,
            )
            for u in planned.uploads
        }
        self.progress.started(sum(not o.bundle_file for o in outcomes.values()))
        for upload in planned.uploads:
            version = s3.put_object(
                Bucket=deployment.ingest_bucket, Key=upload.key, Body=upload.path.read_bytes()
            ).get("VersionId")
            outcomes[upload.key].item_id = _item_id(deployment.ingest_bucket, upload.key, version)
        stack.callback(_discard_metrics)
        self._pump(deployment, outcomes)
        _await_status_changes()
        for outcome in outcomes.values():
            self._collect(deployment, outcome, s3)
        _check_bundle_files(list(outcomes.values()))
        self.files_in_bundles = sum(o.in_bundle for o in outcomes.values())
        # A bundle file with a record of its own, or none at all, is reported as an item.
        return [o for o in outcomes.values() if not o.in_bundle]

    def _pump(self, deployment: Deployment, outcomes: dict[str, ItemOutcome]) -> None:
        """Poll the buffer like the event source mapping, invoke the dispatcher, follow the
        executions until each item is done or the run's deadline passes."""
        sqs = boto3.client("sqs", region_name=REGION)
        lam = boto3.client("lambda", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        by_item = {o.item_id: o for o in outcomes.values() if o.item_id}
        deadline = time.monotonic() + self.timeout_s
        running: set[str] = set()
        done: set[str] = set()
        queue_drained = False
        while time.monotonic() < deadline and len(done) < len(outcomes):
            if len(running) < self.concurrency and not queue_drained:
                batch = min(10, self.concurrency - len(running))
                # The event source mapping polls with the function's role, as on AWS.
                try:
                    with acting_as(self._esm_credentials):
                        messages = sqs.receive_message(
                            QueueUrl=deployment.buffer_queue_url,
                            MaxNumberOfMessages=batch,
                            AttributeNames=["All"],
                        ).get("Messages", [])
                        if not messages:
                            queue_drained = self._queue_empty(sqs, deployment.buffer_queue_url)
                except ClientError as error:
                    # On AWS the mapping keeps failing (and is eventually disabled): nothing
                    # reaches the dispatcher. Say why on every item that never started.
                    self.esm_error = f"the event source mapping cannot poll the buffer: {error}"
                    messages, queue_drained = [], True
                if messages:
                    self._dispatch(deployment, lam, sqs, messages)
            # The other mappings (the Undispatched queue's recorder) run as messages arrive.
            mappings_idle = self._poll_other_mappings(deployment, lam, sqs)
            # Every page: a run starts an execution per object, bundle files included, and
            # the first page (100, newest first) soon stops showing the older ones.
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=deployment.state_machine_arn
            )
            for execution in (e for page in pages for e in page["executions"]):
                outcome = by_item.get(execution["name"])
                if outcome is None or execution["name"] in done:
                    continue
                outcome.execution_arn = execution["executionArn"]
                outcome.status = execution["status"]
                if execution["status"] in _BUSY_STATUSES:
                    running.add(execution["name"])
                else:
                    running.discard(execution["name"])
                    done.add(execution["name"])
                    if not outcome.bundle_file:
                        self.progress.finished(outcome)
            if queue_drained and not running and mappings_idle:
                break  # nothing left to start and nothing running: the rest never started
            if len(done) < len(outcomes):
                time.sleep(0.05)
        for name in running - done:
            # Past the deadline: stop what still runs, so nothing outlives the run.
            arn = by_item[name].execution_arn
            with contextlib.suppress(Exception):
                sfn.stop_execution(
                    executionArn=arn,
                    error="LocalRunTimeout",
                    cause=f"not finished within {self.timeout_s:.0f} s",
                )

    def _poll_other_mappings(self, deployment: Deployment, lam: Any, sqs: Any) -> bool:
        """One poll of each other event source mapping; True when all their queues are empty."""
        idle = True
        for mapping in deployment.other_mappings:
            with acting_as(self._credentials[mapping.function.name]):
                messages = sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=mapping.batch_size,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    idle = idle and self._queue_empty(sqs, mapping.queue_url)
                    continue
            idle = False
            self._deliver(
                mapping.function.name, mapping.queue_url, mapping.queue_arn, lam, sqs, messages
            )
        return idle

    @staticmethod
    def _queue_empty(sqs: Any, queue_url: str) -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(v) == 0 for v in attributes.values())

    def _dispatch(
        self, deployment: Deployment, lam: Any, sqs: Any, messages: list[dict[str, Any]]
    ) -> None:
        queue_arn = (
            f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{deployment.buffer_queue_url.rsplit('/', 1)[-1]}"
        )
        self._deliver(
            deployment.dispatcher.name, deployment.buffer_queue_url, queue_arn, lam, sqs, messages
        )

    def _deliver(
        self,
        function_name: str,
        queue_url: str,
        queue_arn: str,
        lam: Any,
        sqs: Any,
        messages: list[dict[str, Any]],
    ) -> None:
        """Invoke the mapped function with a batch, then settle it as the mapping does:
        delete what succeeded, make the reported failures visible again."""
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        response = lam.invoke(
            FunctionName=function_name, Payload=json.dumps({"Records": records}).encode()
        )
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            failed = {m["MessageId"] for m in messages}
        else:
            failed = {f["itemIdentifier"] for f in payload.get("batchItemFailures", [])}
        try:
            with acting_as(self._credentials[function_name]):
                for message in messages:
                    if message["MessageId"] in failed:
                        # Visible again at once (locally): retried until the redrive policy
                        # moves it.
                        sqs.change_message_visibility(
                            QueueUrl=queue_url,
                            ReceiptHandle=message["ReceiptHandle"],
                            VisibilityTimeout=0,
                        )
                    else:
                        sqs.delete_message(
                            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
        except ClientError as error:
            # On AWS the messages come back after their visibility timeout and are started
            # again (the dispatcher is idempotent by execution name): say so, go on.
            self.esm_error = f"the event source mapping cannot settle its messages: {error}"

    def _collect(self, deployment: Deployment, outcome: ItemOutcome, s3: Any) -> None:
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
        sfn = boto3.client("stepfunctions", region_name=REGION)
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
        records = {
            kind: _read_record(
                s3, deployment.processed_bucket, record_key(kind, outcome.item_id, received_at)
            )
            if received_at
            else None
            for kind in RECORD_KINDS
        }
        written = sorted(kind for kind, document in records.items() if document)
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


def _check_bundle_files(outcomes: list[ItemOutcome]) -> None:
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


def _warm_up(host: LambdaHost, deployment: Deployment) -> None:
    """Import every handler and read the SSM thresholds once, in this thread, as warm Lambdas
    would have them: otherwise the first concurrent executions race on import locks and each
    builds its own boto3 session for the parameters cache (seconds of CPU on two cores)."""
    for function in deployment.functions.values():
        host.handler_for(function.handler)
    from pipeline.domain.thresholds import current_thresholds  # noqa: PLC0415
    from pipeline.settings import get_settings  # noqa: PLC0415

    current_thresholds(get_settings())


def _await_status_changes(limit_s: float = 60.0) -> None:
    """Let the executions' status-change events reach their rule's target (the recorder of
    endings outside the Catch graph) before the records are collected."""
    deadline = time.monotonic() + limit_s
    while moto_patches.status_changes_pending() and time.monotonic() < deadline:
        time.sleep(0.02)


def _discard_metrics() -> None:
    """Metrics are off locally (POWERTOOLS_METRICS_DISABLED), but Powertools still collects
    them; drop them so nothing flushes EMF lines to the console at exit."""
    from pipeline.observability import metrics  # noqa: PLC0415

    metrics.clear_metrics()


def _item_id(bucket: str, key: str, version: str | None) -> str:
    from pipeline.domain.dispatch import item_id_for  # noqa: PLC0415

    return item_id_for(bucket, key, version)


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


def _write_summary(report: RunReport) -> None:
    summary = {
        "inputs": len(report.outcomes),
        "counts": report.counts(),
        "all_terminal": report.ok,
        "elapsed_s": round(report.elapsed_s, 3),
        "time_scale": report.time_scale,
        "providers": report.providers,
        "faults": report.faults,
        "cdk_out": str(report.cdk_out),
        "iam": "enforced" if report.iam else "off",
        "largest_state_bytes": report.largest_state_bytes,
        "access_denied": [
            {
                "principal": r.principal,
                "action": r.permission.action,
                "resource": r.permission.resource,
                "operation": r.operation,
                "decision": r.decision.name,
            }
            for r in report.refusals
        ],
        "items": [
            {
                "input": o.input,
                "item_id": o.item_id,
                "place": o.place,
                "status": o.status,
                "record": str(o.record_file) if o.record_file else None,
                "error": o.error,
                "cause": (o.cause or "")[:500] or None,
            }
            for o in report.outcomes
        ],
    }
    buffer = io.StringIO()
    json.dump(summary, buffer, indent=2, default=str)
    (report.out_dir / "summary.json").write_text(buffer.getvalue())
