"""What a refused request looks like: AWS's sentence for it, and each service's error shape."""

from __future__ import annotations

from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError

from mmpipe.local.iam.policies import Decision, Permission

# Error shapes per service: (HTTP status, error code) as the service answers an IAM refusal.
JSON_DENIALS = {"lambda": 403, "bedrock": 403, "sqs": 400, "s3vectors": 403}


@dataclass(frozen=True)
class Refusal:
    """One request refused: who, what, on which resource, and AWS's sentence for it."""

    principal: str
    permission: Permission
    decision: Decision
    operation: str

    @property
    def message(self) -> str:
        resource = self.permission.resource or "*"
        return (
            f"User: {self.principal} is not authorized to perform: "
            f"{self.permission.action} on resource: {resource} because "
            f"{self._reason()}"
        )

    def _reason(self) -> str:
        if self.decision is Decision.DENIED_BY_SCP:
            return "of an explicit deny in a service control policy"
        if self.decision is Decision.EXPLICIT_DENY:
            return "of an explicit deny in an identity-based policy"
        return f"no identity-based policy allows the {self.permission.action} action"


class AccessDeniedResponse(JsonRESTError):
    def __init__(self, status: int, refusal: Refusal) -> None:
        super().__init__("AccessDeniedException", refusal.message)
        self.code = status


def s3_error(refusal: Refusal) -> Exception:
    from moto.s3.exceptions import S3ClientError  # noqa: PLC0415

    error = S3ClientError("AccessDenied", refusal.message)
    error.code = 403  # type: ignore[assignment]  # werkzeug's HTTP status, named like moto's
    return error
