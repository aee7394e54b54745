"""The two kinds of contract: immutable messages, and documents a step fills in once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """A task's input or output, or a reference passed along: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(BaseModel):
    """A file written to S3 (a work file, a published record): unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")
