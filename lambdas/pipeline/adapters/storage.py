"""Object storage: the protocol the domain uses, and its S3 implementation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline_contracts.item import ObjectRef


class ObjectMissing(Exception):
    """The object (or that version of it) does not exist."""


class ObjectStore(Protocol):
    def size(self, ref: ObjectRef) -> int: ...

    def read_bytes(self, ref: ObjectRef, max_bytes: int | None = None) -> bytes: ...

    def download(self, ref: ObjectRef, destination: Path) -> None: ...

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]: ...

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> str: ...

    def copy(self, source: ObjectRef, bucket: str, key: str) -> str: ...


def put_json(store: ObjectStore, bucket: str, key: str, document: Any) -> str:
    """Write a JSON document; returns its s3:// URI."""
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
    return store.put_bytes(bucket, key, body, "application/json")


def parse_s3_uri(uri: str) -> ObjectRef:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// object URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return ObjectRef(bucket=bucket, key=key)


def read_json(store: ObjectStore, uri: str) -> Any:
    return json.loads(store.read_bytes(parse_s3_uri(uri)))


class S3ObjectStore:
    """boto3-backed store. Server-side encryption is the bucket's default (KMS)."""

    def __init__(self, client: Any | None = None) -> None:
        self._s3 = client or boto3.client("s3")

    @staticmethod
    def _version(ref: ObjectRef) -> dict[str, str]:
        return {"VersionId": ref.version_id} if ref.version_id else {}

    def size(self, ref: ObjectRef) -> int:
        try:
            with translated_aws_errors("S3"):
                head = self._s3.head_object(Bucket=ref.bucket, Key=ref.key, **self._version(ref))
        except ClientError as error:
            if error_code(error) in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
                raise ObjectMissing(ref.uri) from error
            raise
        return int(head["ContentLength"])

    def read_bytes(self, ref: ObjectRef, max_bytes: int | None = None) -> bytes:
        extra = self._version(ref)
        if max_bytes is not None:
            extra["Range"] = f"bytes=0-{max_bytes - 1}"
        try:
            with translated_aws_errors("S3"):
                response = self._s3.get_object(Bucket=ref.bucket, Key=ref.key, **extra)
                return bytes(response["Body"].read())
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "NoSuchVersion", "404"):
                raise ObjectMissing(ref.uri) from error
            if error_code(error) == "InvalidRange":
                return b""
            raise

    def download(self, ref: ObjectRef, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            with translated_aws_errors("S3"):
                self._s3.download_file(
                    ref.bucket, ref.key, str(destination), ExtraArgs=self._version(ref) or None
                )
        except ClientError as error:
            # Deleted between the size check and the download: not a crash, a missing object.
            if error_code(error) in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
                raise ObjectMissing(ref.uri) from error
            raise

    def list_keys(self, bucket: str, prefix: str) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        with translated_aws_errors("S3"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    yield str(entry["Key"])

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> str:
        with translated_aws_errors("S3"):
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return f"s3://{bucket}/{key}"

    def copy(self, source: ObjectRef, bucket: str, key: str) -> str:
        copy_source = {"Bucket": source.bucket, "Key": source.key, **self._version(source)}
        with translated_aws_errors("S3"):
            self._s3.copy_object(CopySource=copy_source, Bucket=bucket, Key=key)
        return f"s3://{bucket}/{key}"
