"""Lambda: invoking a function runs its real handler in-process (moto's only echoes)."""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from mmpipe.local.api_requests import RequestRejected
from mmpipe.local.moto_patches.shared import LambdaRunner, originals, state


class LambdaFunctionError(Exception):
    """What a handler raised, carried to Step Functions by its class name (the Retry/Catch key)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


# --- Patch 1: Lambda without Docker only echoes -------------------------------------------
# moto's LambdaSimpleBackend.invoke returns the request body. Run the real handler in-process
# instead, and report an exception the way Lambda does (x-amz-function-error: Unhandled and
# {"errorType", "errorMessage"}) so Retry/Catch on exception class names behave as on AWS.
# A refusal of the invocation itself (TooManyRequestsException past the concurrency quota) is
# the Invoke call's error, not the function's.
def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    del headers
    runner: LambdaRunner | None = state["lambda"]
    function = self.get_function(function_name, qualifier)
    if runner is None:
        raise RuntimeError("local mode installed no Lambda runner")
    event = json.loads(body) if body else {}
    try:
        result = runner(function.function_name, str(function.handler), event)
    except RequestRejected:
        raise  # Lambda refused the invocation itself (a quota): the Invoke call fails
    except Exception as error:
        response_headers["x-amz-function-error"] = "Unhandled"
        error_type = (
            error.error_type if isinstance(error, LambdaFunctionError) else (type(error).__name__)
        )
        return json.dumps({"errorType": error_type, "errorMessage": str(error)}).encode()
    return json.dumps(result, default=str).encode()


def patch() -> None:
    originals["invoke"] = LambdaSimpleBackend.invoke
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]


def restore() -> None:
    LambdaSimpleBackend.invoke = originals.pop("invoke")  # type: ignore[method-assign]
