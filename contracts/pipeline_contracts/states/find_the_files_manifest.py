""" "Find the file's manifest" and "Look again for the file's manifest" (one function, run
before and after the wait): is a file under the bundle prefix part of a bundle, or is it
quarantined with the rejection `plan` carries ("Keep the file's rejection" -> "Quarantine item")?
"""

from __future__ import annotations

from typing import Literal

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemRequest, PlanSummary

Verdict = Literal[
    "listed",  # a manifest lists the file: its bundle accounts for it
    "bundle_rejected",  # the manifest cannot be read: the bundle's quarantine accounts for it
    "no_manifest",  # no manifest (yet) in this folder or above
    "not_listed",  # a readable manifest above the file does not list it
    "misnamed_manifest",  # the file is a manifest named other than manifest.json
]


class FindManifestInput(Message):
    request: ItemRequest
    waited: bool


class FindManifestOutput(Message):
    verdict: Verdict
    manifest_key: str | None = None
    plan: PlanSummary | None = None
