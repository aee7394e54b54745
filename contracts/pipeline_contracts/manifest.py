"""Bundle manifest v1: the source of truth for what a bundle may declare.

Published as JSON Schema in docs/schemas/manifest.v1.json (`make schemas`).
"""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline_contracts.vocabulary import Profile, Relation, Role

MANIFEST_FILE_NAME = "manifest.json"


def check_relative_path(path: str) -> str:
    """The one safe-path rule: absolute paths, parent references and anything that is not a
    plain relative path are refused (manifests, the intake and the alignment job all use it)."""
    if not path or path.strip() != path:
        raise ValueError("path must be a non-empty relative path without surrounding spaces")
    if "\\" in path or any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise ValueError("path must not contain backslashes or control characters")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ValueError("path must be relative, not absolute")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("path must not contain '.', '..' or empty segments")
    if posixpath.normpath(path) != path:
        raise ValueError("path must be normalised")
    if path == MANIFEST_FILE_NAME:
        raise ValueError("the manifest cannot list itself as an asset")
    return path


class ManifestAsset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(max_length=512, description="Path relative to the bundle folder.")
    role: Role = "primary"
    relation: Relation | None = Field(
        default=None, description="How this asset relates to the primary one."
    )
    syncs_with: str | None = Field(
        default=None, description="Path of the asset this one is time-aligned to."
    )

    @field_validator("path", "syncs_with")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        return None if value is None else check_relative_path(value)


class Manifest(BaseModel):
    """What a bundle's manifest.json must say. Unknown keys are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(description="Manifest format version.")
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    profile: Profile = "general"
    assets: list[ManifestAsset] = Field(min_length=1, max_length=500)
    language: str | None = Field(
        default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="e.g. en-US"
    )
    vocabulary: list[str] | None = Field(
        default=None, max_length=1000, description="Custom vocabulary phrases for Transcribe."
    )

    @field_validator("vocabulary")
    @classmethod
    def _phrases(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not p.strip() or len(p) > 256 for p in value):
            raise ValueError("vocabulary phrases must be non-empty and at most 256 characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        paths = [asset.path for asset in self.assets]
        if len(set(paths)) != len(paths):
            raise ValueError("asset paths must be unique")
        for asset in self.assets:
            if asset.syncs_with is not None and asset.syncs_with not in paths:
                raise ValueError(f"syncs_with names {asset.syncs_with!r}, which is not an asset")
            if asset.syncs_with == asset.path:
                raise ValueError("an asset cannot sync with itself")
        return self
