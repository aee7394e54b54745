"""Where things live and what they are called: bucket prefixes, work-file keys, the `mmp-`
names of service resources. The Lambda code writes these keys and the stack grants access to
exactly these prefixes, so both import them from here and cannot drift apart.
"""

from __future__ import annotations

import hashlib
from typing import Literal

# The processed bucket's top-level prefixes.
WORK_PREFIX = "work/"  # per-item work files, expire after 30 days
RESULTS_PREFIX = "results/"
QUARANTINE_PREFIX = "quarantine/"
FAILURES_PREFIX = "failures/"
DERIVED_PREFIX = "derived/"

RecordKind = Literal["results", "quarantine", "failures"]
RECORD_KINDS: tuple[RecordKind, ...] = ("results", "quarantine", "failures")

# Every Transcribe job, custom vocabulary and SageMaker job the pipeline creates starts so:
# the roles may touch only resources with these names.
NAME_PREFIX = "mmp-"
ALIGNMENT_JOB_PREFIX = f"{NAME_PREFIX}align-"


def work_prefix(item_id: str) -> str:
    return f"{WORK_PREFIX}{item_id}/"


def day_partition(timestamp: str) -> str:
    return f"dt={timestamp[:10]}"


def record_key(kind: RecordKind, item_id: str, received_at: str) -> str:
    """Where an item's record lives: partitioned by the day the item was received, so a write
    retried after midnight lands on the same key, and any step can find it."""
    return f"{kind}/{day_partition(received_at)}/{item_id}.json"


def quarantined_copy_key(item_id: str, name: str) -> str:
    return f"{QUARANTINE_PREFIX}objects/{item_id}/{name}"


def derived_file_key(item_id: str, name: str) -> str:
    return f"{DERIVED_PREFIX}{item_id}/{name}"


class WorkFiles:
    """The keys of one item's work files, under `work/<item_id>/`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def job_input(self) -> str:
        """What the alignment job reads as its `plan` input (an S3 prefix): the plan, and the
        transcripts Transcribe wrote before the job started, so the timeline has their words."""
        return f"{self.prefix}job/"

    @property
    def plan(self) -> str:
        return f"{self.job_input}plan.json"

    @property
    def fusion(self) -> str:
        return f"{self.prefix}fusion.json"

    @property
    def alignment_output(self) -> str:
        return f"{self.prefix}alignment/"

    def extracted_audio(self, asset_id: str, suffix: str) -> str:
        return f"{self.prefix}audio/{asset_id}{suffix}"

    def transcript(self, job_name: str) -> str:
        """Where Transcribe writes its own output (OutputKey): in the job's input."""
        return f"{self.job_input}transcripts/{job_name}.json"

    def prepared(self, asset_id: str) -> str:
        """Stem of a visual asset's prepared body (.jpg, .json) and companions."""
        return f"{self.prefix}prepared/{asset_id}"

    def model_reply(self, asset_id: str) -> str:
        return f"{self.prefix}model/{asset_id}.json"

    def result(
        self, branch: Literal["transcript", "vision", "alignment"], asset_id: str = ""
    ) -> str:
        name = branch if branch == "alignment" else f"{branch}-{asset_id}"
        return f"{self.prefix}results/{name}.json"


def alignment_job_name(item_id: str) -> str:
    """SageMaker job names allow 63 characters of [a-zA-Z0-9-]: a digest of the item id."""
    return ALIGNMENT_JOB_PREFIX + hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:24]


def transcription_job_name(item_id: str, asset_id: str) -> str:
    return f"{NAME_PREFIX}{item_id}-{asset_id}"[:200]


def vocabulary_name(language: str, phrases: list[str]) -> str:
    digest = hashlib.sha256("\n".join([language, *phrases]).encode()).hexdigest()[:32]
    return f"{NAME_PREFIX}{digest}"
