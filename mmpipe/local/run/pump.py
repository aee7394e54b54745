"""Queue pumping: the event source mappings (SQS -> Lambda) and the executions, polled until
every item is done or the run's deadline passes.

moto runs neither the mappings nor a clock for them: this loop stands in for both, with the
mapping's pacing, batching and settling of messages.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mmpipe.local.iam.identity import acting_as
from mmpipe.local.moto_patches.sfn_executions import status_changes_pending
from mmpipe.local.resources import Deployment
from mmpipe.local.run.report import ItemOutcome, ProgressSink
from mmpipe.local.template import ACCOUNT_ID, REGION

_BUSY_STATUSES = ("RUNNING", "PENDING_REDRIVE")
# How often the loop looks again, and how often the other mappings poll their queues (they
# carry few messages: the Undispatched queue's, say). Polling the other mappings on every
# turn was a tenth of a run's CPU, with IAM checking each call.
_TURN_S = 0.05
_OTHER_MAPPINGS_EVERY_S = 0.25


class Pump:
    """The event source mappings and the execution watcher of one run, each mapping polling
    with its function's role; `esm_error` says why a mapping could not poll or settle."""

    def __init__(
        self,
        credentials: dict[str, Any],
        esm_credentials: Any,
        *,
        timeout_s: float,
        concurrency: int,
        progress: ProgressSink,
    ) -> None:
        self._credentials = credentials
        self._esm_credentials = esm_credentials
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.progress = progress
        # Why the mappings could not poll or settle, for the items that never started.
        self.esm_error: str | None = None

    def run(self, deployment: Deployment, outcomes: dict[str, ItemOutcome]) -> None:
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
        mappings_idle, mappings_polled = False, 0.0
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
            # The other mappings (the Undispatched queue's recorder) run as messages arrive;
            # at the end, every turn, so that "idle" is current when the loop decides.
            ending = queue_drained and not running
            if ending or time.monotonic() - mappings_polled >= _OTHER_MAPPINGS_EVERY_S:
                # Idle counts only from a poll that also checked messages in flight.
                idle = self._poll_other_mappings(deployment, lam, sqs, check=ending)
                mappings_idle = idle and ending
                mappings_polled = time.monotonic()
            for name, execution_arn, status in executions_of(deployment.state_machine_arn):
                outcome = by_item.get(name)
                if outcome is None or name in done:
                    continue
                outcome.execution_arn = execution_arn
                outcome.status = status
                if status in _BUSY_STATUSES:
                    running.add(name)
                else:
                    running.discard(name)
                    done.add(name)
                    if not outcome.bundle_file:
                        self.progress.finished(outcome)
            if queue_drained and not running and mappings_idle:
                break  # nothing left to start and nothing running: the rest never started
            if len(done) < len(outcomes):
                time.sleep(_TURN_S)
        for name in running - done:
            # Past the deadline: stop what still runs, so nothing outlives the run.
            arn = by_item[name].execution_arn
            with contextlib.suppress(Exception):
                sfn.stop_execution(
                    executionArn=arn,
                    error="LocalRunTimeout",
                    cause=f"not finished within {self.timeout_s:.0f} s",
                )

    def _poll_other_mappings(
        self, deployment: Deployment, lam: Any, sqs: Any, *, check: bool
    ) -> bool:
        """One poll of each other event source mapping. With `check`, True when all their
        queues are empty (messages in flight included); without, True when none had any."""
        idle = True
        for mapping in deployment.other_mappings:
            with acting_as(self._credentials[mapping.function.name]):
                messages = sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=mapping.batch_size,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    idle = idle and (not check or self._queue_empty(sqs, mapping.queue_url))
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
        try:
            response = lam.invoke(
                FunctionName=function_name, Payload=json.dumps({"Records": records}).encode()
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TooManyRequestsException":
                raise
            # Throttled (the account's concurrency): the mapping backs off and the batch is
            # received again, as on AWS.
            response = {"FunctionError": "Throttled", "Payload": None}
        payload = json.loads(response["Payload"].read() or b"{}") if response["Payload"] else {}
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


def executions_of(state_machine_arn: str) -> list[tuple[str, str, str]]:
    """(name, ARN, status) of every execution of the state machine, read from the emulated
    Step Functions itself: the watcher is the operator looking on, not a caller whose
    requests are checked, and listing every execution through the API on every turn of the
    loop (the list grows with the run) was the largest cost of watching."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    machine = stepfunctions_parser_backends[ACCOUNT_ID][REGION].describe_state_machine(
        state_machine_arn
    )
    found = []
    for execution in list(machine.executions):
        status = getattr(execution, "exec_status", None)  # None: not started yet
        found.append(
            (
                str(execution.name),
                str(execution.execution_arn),
                str(status.value) if status else "RUNNING",
            )
        )
    return found


def await_status_changes(limit_s: float = 60.0) -> None:
    """Let the executions' status-change events reach their rule's target (the recorder of
    endings outside the Catch graph) before the records are collected."""
    deadline = time.monotonic() + limit_s
    while status_changes_pending() and time.monotonic() < deadline:
        time.sleep(0.02)
