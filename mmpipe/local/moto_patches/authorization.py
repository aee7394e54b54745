"""IAM: every request moto serves is authorized by local mode's enforcement, not moto's."""

from __future__ import annotations

from typing import Any

from moto.core.authorization import ActionAuthenticatorMixin

from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.moto_patches.shared import originals, state


# --- Patch 5: moto's IAM check cannot judge the synthesized policies ------------------------
# With authorization on, moto denies every statement that has a Condition and ignores the
# Resource of all but S3 requests. Local mode authorizes every request itself
# (iam.enforcement), from the policies the synthesized template gives each role.
def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    enforcement: Enforcement | None = state["enforcement"]
    if enforcement is None:
        originals["authorize"](self, iam_request_cls, resource)
        return
    enforcement.authorize(self, resource)


def patch() -> None:
    originals["authorize"] = ActionAuthenticatorMixin._authenticate_and_authorize_action
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize  # type: ignore[method-assign]


def restore() -> None:
    ActionAuthenticatorMixin._authenticate_and_authorize_action = originals.pop(  # type: ignore[method-assign]
        "authorize"
    )
