"""The small closed sets every contract shares (modalities, kinds, profiles, providers)."""

from __future__ import annotations

from typing import Literal

Modality = Literal["image", "audio", "video", "text", "document", "captions"]
# A bundle file is an object under the bundle prefix other than a manifest: its execution
# finds the manifest that lists it, and only a file no manifest lists gets a record.
ItemKind = Literal["object", "bundle", "bundle_file"]
Profile = Literal["general", "catalog", "moderation", "accessibility", "education"]
Role = Literal[
    "primary", "description", "captions", "transcript", "slides", "thumbnail", "supplementary"
]
Relation = Literal["complementary", "redundant"]
# Who answered: AWS services, the local stand-ins, or the deterministic stubs.
Provider = Literal["aws", "local", "stub"]
BranchName = Literal["audio", "vision", "alignment"]
ItemStatus = Literal["processed", "degraded"]
