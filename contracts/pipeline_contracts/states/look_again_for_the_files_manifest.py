""" "Look again for the file's manifest": the same function as "Find the file's manifest", run
once more after the wait (`waited` is true), with the same input and output."""

from __future__ import annotations

from pipeline_contracts.states.find_the_files_manifest import FindManifestInput, FindManifestOutput

LookAgainInput = FindManifestInput
LookAgainOutput = FindManifestOutput
