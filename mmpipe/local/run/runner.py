"""Orchestrate a local run: synthesize, emulate, ingest, pump the queue, collect the results.

`LocalRun` only wires the pieces together, in order: moto and the identities, the deployed
template, the stand-ins and moto's patches, then uploads (`uploads`), the handlers
(`lambda_host`), the queue (`pump`) and the records (`collect`), and the report (`report`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3

from mmpipe.local import moto_patches
from mmpipe.local.faults import Faults
from mmpipe.local.iam import identity
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.iam.identity import Identities, acting_as
from mmpipe.local.iam.policies import Denials
from mmpipe.local.moto_patches.sfn_executions import largest_state_bytes
from mmpipe.local.quotas import EmulatedClock, EmulatedQuotas
from mmpipe.local.resources import Deployment, deploy
from mmpipe.local.run import search_state
from mmpipe.local.run.collect import Collector, check_bundle_files
from mmpipe.local.run.lambda_host import (
    LambdaHost,
    discard_metrics,
    environment,
    local_environment,
    quiet_handlers,
    warm_up,
)
from mmpipe.local.run.pump import Pump, await_status_changes
from mmpipe.local.run.report import (
    ItemOutcome,
    ProgressSink,
    ProviderChoice,
    RunReport,
    write_summary,
)
from mmpipe.local.run.uploads import MANIFEST, plan_tree_uploads, plan_uploads
from mmpipe.local.standins.bedrock import LocalBedrock
from mmpipe.local.standins.embeddings import LocalEmbeddings
from mmpipe.local.standins.features import ocr_available
from mmpipe.local.standins.model import LocalModel
from mmpipe.local.standins.recognition import StubRecognizer, WhisperRecognizer
from mmpipe.local.standins.sagemaker import LocalProcessing, real_job, stub_job
from mmpipe.local.standins.transcribe import LocalTranscribe
from mmpipe.local.template import REGION, CloudAssembly
from mmpipe.search import invoke_search
from pipeline_contracts.search import SearchRequest, SearchResponse

DEFAULT_TIME_SCALE = 0.01
SEARCH_HANDLER = "pipeline.handlers.search.handler"


class SearchStateMismatch(RuntimeError):
    """The folder's saved index was made with another embedding model or dimension."""


class SearchRefused(RuntimeError):
    """IAM refused a call the search made (a defect of the stack's grants)."""


MOTO_OBJECT_MEMORY_BYTES = 256 * 1024


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
        self.quotas: EmulatedQuotas | None = None
        self.esm_error: str | None = None
        self.restored = search_state.Restored(0, 0)
        self.vectors_saved = 0
        self.definition: dict[str, Any] = {}

    @staticmethod
    def faults_need_iam(faults: Faults | None) -> bool:
        return bool(faults and faults.deny)

    def run(self, paths: list[Path]) -> RunReport:
        started = time.monotonic()
        with self._emulation() as (deployment, identities, stack):
            credentials = self._install(deployment, identities, stack)
            self.restored = search_state.restore(deployment, self.out_dir)
            outcomes = self._process(deployment, credentials, paths, stack)
            # The index and its ledger outlive the run, as they outlive executions on AWS.
            self.vectors_saved = search_state.save(deployment, self.out_dir)
        largest_state = largest_state_bytes(reset=True)
        report = RunReport(
            outcomes=outcomes,
            out_dir=self.out_dir,
            elapsed_s=time.monotonic() - started,
            time_scale=self.time_scale,
            providers=self.providers,
            faults=self.faults.describe(),
            synth_cached=self.synth_cached,
            definition=self.definition,
            iam=self.iam,
            cdk_out=self.cdk_out,
            refusals=list(self.enforcement.refusals) if self.enforcement else [],
            unmapped_operations=sorted(self.enforcement.unmapped) if self.enforcement else [],
            largest_state_bytes=largest_state,
            files_in_bundles=self.files_in_bundles,
            skipped=self.skipped,
            quota_refusals=dict(self.quotas.refused) if self.quotas else {},
            search=self._search_summary(),
        )
        write_summary(report)
        return report

    def search(self, request: SearchRequest) -> SearchResponse:
        """Ask the deployed search function, as an application would (lambda:Invoke, the
        function under its own role), over the index a run left in the out folder."""
        (answer,) = self.searches([request])
        return answer

    def searches(self, requests: list[SearchRequest]) -> list[SearchResponse]:
        """Several searches in one emulated deployment (a benchmark's queries)."""
        with self._emulation() as (deployment, identities, stack):
            # Its own refusals file: the run's access-denied.jsonl stays the run's evidence.
            self._install(deployment, identities, stack, "search-access-denied.jsonl")
            self.restored = search_state.restore(deployment, self.out_dir)
            if self.restored.skipped_reason:
                raise SearchStateMismatch(self.restored.skipped_reason)
            function = next(f for f in deployment.functions.values() if f.handler == SEARCH_HANDLER)
            client = boto3.client("lambda", region_name=REGION)
            answers = [invoke_search(client, function.name, request) for request in requests]
        if self.enforcement and self.enforcement.refusals:
            raise SearchRefused("; ".join(str(r) for r in self.enforcement.refusals))
        return answers

    @contextlib.contextmanager
    def _emulation(self) -> Iterator[tuple[Deployment, Identities, contextlib.ExitStack]]:
        """moto with the synthesized stack deployed in it, signed as the operator."""
        from moto import mock_aws  # noqa: PLC0415 - moto is heavy; only local mode needs it

        config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                environment(
                    {
                        "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local",
                        "AWS_DEFAULT_REGION": REGION,
                        # moto keeps every object under 5 MB in memory: a burst of media
                        # (hundreds of recordings) would hold them all. Larger than this, an
                        # object spools to a temporary file, as the ingest bucket's bytes
                        # live on disk on AWS too.
                        "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(MOTO_OBJECT_MEMORY_BYTES),
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
            self.definition = deployment.definition
            stack.enter_context(environment(local_environment(deployment)))
            from pipeline.environment import forget_environments  # noqa: PLC0415 - env first

            forget_environments()
            self.out_dir.mkdir(parents=True, exist_ok=True)
            stack.enter_context(quiet_handlers(self.out_dir / "lambda-logs.jsonl"))
            yield deployment, identities, stack

    def _search_summary(self) -> dict[str, object]:
        return {
            "restored_vectors": self.restored.vectors,
            "restored_ledger_entries": self.restored.ledger_entries,
            "not_restored": self.restored.skipped_reason,
            "vectors_saved": self.vectors_saved,
        }

    def _install(
        self,
        deployment: Deployment,
        identities: Identities,
        stack: contextlib.ExitStack,
        refusals_file: str = "access-denied.jsonl",
    ) -> dict[str, Any]:
        """The providers, the Lambda host, IAM enforcement, the stand-ins and moto's patches;
        the functions' credentials."""
        from pipeline.adapters.model import BedrockModelClient  # noqa: PLC0415
        from pipeline.adapters.providers import Providers, use_providers  # noqa: PLC0415
        from pipeline.adapters.speech import TranscribeJobs  # noqa: PLC0415
        from pipeline.adapters.storage import S3ObjectStore  # noqa: PLC0415
        from pipeline.environment import FunctionEnvironment  # noqa: PLC0415

        stub = self.providers == "stub"
        # The account's quotas, as the synthesized configuration states them (or lower, with
        # --inject quota=...), on a clock that runs at the run's time scale: the stand-ins,
        # Lambda and StartExecution refuse past them, and the handlers' admission control
        # measures its windows on the same clock.
        clock = EmulatedClock(self.time_scale)
        self.quotas = EmulatedQuotas(
            self.faults.lowered_quotas(FunctionEnvironment.load().pipeline_config.quotas), clock
        )
        # The handlers use the real adapters; the stand-ins serve their APIs behind moto.
        use_providers(
            Providers(
                store=S3ObjectStore(),
                speech=TranscribeJobs(),
                model=BedrockModelClient(provider=self.providers),
                name=self.providers,
                clock=clock,
            )
        )
        stack.callback(use_providers, None)
        credentials = {
            f.name: identities.assume(f.role_arn, f.name) for f in deployment.functions.values()
        }
        host = LambdaHost(deployment.functions, credentials, self.faults, self.quotas)
        ledger = self.out_dir / refusals_file
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
            quotas=self.quotas,
        )
        transcribe = LocalTranscribe(
            StubRecognizer() if stub else WhisperRecognizer(),
            self.faults,
            identities.operator,
            self.enforcement,
            quotas=self.quotas,
        )
        stack.callback(transcribe.shutdown)
        ocr = not stub and ocr_available()
        bedrock = LocalBedrock(
            LocalModel(ocr=ocr, faults=self.faults, provider=self.providers),
            self.faults,
            self.enforcement,
            quotas=self.quotas,
        )
        # Embeddings: the same small model with --providers stub too (it loads once per
        # process, in under a second, and embeds a short text in milliseconds), so a stub
        # run's search finds items by meaning, not by chance; only images are described
        # without their printed words there, as the Converse stand-in describes them.
        embeddings = LocalEmbeddings(
            self.faults,
            ocr=ocr,
            enforcement=self.enforcement,
            quotas=self.quotas,
            provider=self.providers,
        )
        moto_patches.install(
            lambda_runner=host,
            processing_runner=processing,
            scale=self.time_scale,
            transcribe=transcribe,
            bedrock=bedrock,
            embeddings=embeddings,
            enforcement=self.enforcement,
            faults=self.faults,
            callback_floor_s=self.callback_floor_s,
            quotas=self.quotas,
            state_machine_credentials=identities.assume(
                deployment.state_machine_role_arn, "StepFunctions"
            ),
        )
        stack.callback(moto_patches.uninstall)
        largest_state_bytes(reset=True)

        warm_up(host, deployment)
        return credentials

    def _process(
        self,
        deployment: Deployment,
        credentials: dict[str, Any],
        paths: list[Path],
        stack: contextlib.ExitStack,
    ) -> list[ItemOutcome]:
        """Upload, pump the queue until every item has ended, collect the records."""
        from pipeline.environment import FunctionEnvironment  # noqa: PLC0415

        config = FunctionEnvironment.load().pipeline_config
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
        stack.callback(discard_metrics)
        pump = Pump(
            credentials,
            credentials[deployment.dispatcher.name],
            timeout_s=self.timeout_s,
            concurrency=self.concurrency,
            progress=self.progress,
        )
        pump.run(deployment, outcomes)
        self.esm_error = pump.esm_error
        await_status_changes()
        collector = Collector(self.out_dir, self.timeout_s, self.esm_error)
        for outcome in outcomes.values():
            collector.collect(deployment, outcome, s3)
        check_bundle_files(list(outcomes.values()))
        self.files_in_bundles = sum(o.in_bundle for o in outcomes.values())
        # A bundle file with a record of its own, or none at all, is reported as an item.
        return [o for o in outcomes.values() if not o.in_bundle]


def _item_id(bucket: str, key: str, version: str | None) -> str:
    from pipeline.domain.dispatch import item_id_for  # noqa: PLC0415

    return item_id_for(bucket, key, version)
