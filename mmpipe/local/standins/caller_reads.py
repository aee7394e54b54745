"""Bedrock reads an S3 object named in a request (a Converse video, an embedding's image or
text) with its caller's permissions: the stand-ins check them, and the object's size, here."""

from __future__ import annotations

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.iam.enforcement import Enforcement, current_principal, stored_size
from mmpipe.local.template import ACCOUNT_ID


def caller_may_read(
    enforcement: Enforcement | None, uri: str, operation: str, noun: str
) -> tuple[str, str, int]:
    """(bucket, key, size) of the object at `uri`, if the caller may read it and it exists."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    principal = current_principal()
    if enforcement is not None and principal is not None:
        try:
            enforcement.require_object_access(principal, "s3:GetObject", bucket, key, operation)
        except PermissionError as denied:
            raise RequestRejected(
                f"Unable to access the {noun} at {uri}: {denied}", "AccessDeniedException", 403
            ) from denied
    size = stored_size(bucket, key)
    if size is None:
        raise RequestRejected(f"The {noun} at {uri} was not found.")
    return bucket, key, size


def stored_bytes(bucket: str, key: str) -> bytes:
    from moto.s3.models import s3_backends  # noqa: PLC0415

    try:
        found = s3_backends[ACCOUNT_ID]["aws"].get_object(bucket, key)
    except Exception:  # moto raises several "missing" types
        return b""
    return bytes(found.value) if found is not None else b""
