"""Map botocore failures onto the pipeline's typed, retryable exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from pipeline.errors import AccessDenied, ServiceThrottled, ServiceUnavailable

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ServiceQuotaExceededException",
    }
)
# "403" is how botocore reports a refused HEAD request, which carries no body.
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "KmsAccessDeniedException",
        "KMSAccessDeniedException",
        "403",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "RequestTimeout",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_aws_errors(service: str) -> Iterator[None]:
    """Re-raise throttling and transient faults as the exceptions the state machine retries."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ACCESS_DENIED_CODES:
            message = error.response.get("Error", {}).get("Message") or code
            raise AccessDenied(f"{service} refused the call: {message}") from error
        if code in THROTTLING_CODES or status == 429:
            raise ServiceThrottled(f"{service} throttled the call ({code})") from error
        if code in UNAVAILABLE_CODES or status >= 500:
            raise ServiceUnavailable(f"{service} is unavailable ({code})") from error
        raise
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as error:
        raise ServiceUnavailable(f"{service} could not be reached: {error}") from error
