"""How the intake modules stop planning an item: the rejection they raise, and how they show a
path in its message.

Shared by the manifest reading (`intake_manifest`), the asset location (`asset_location`),
the asset inspection (`asset_inspection`) and the planning (`intake`): each raises
`RejectedError`, and `intake.plan_item` answers with its rejection.
"""

from __future__ import annotations

from pipeline_contracts.item import Rejection, RejectionCode

_MAX_PATH_IN_MESSAGE = 120


class RejectedError(Exception):
    """Internal to the intake gate: stop planning and answer with this rejection."""

    def __init__(self, code: RejectionCode, message: str, asset_path: str | None = None) -> None:
        super().__init__(message)
        self.rejection = Rejection(code=code, message=message, asset_path=asset_path)


def quote_path(path: str) -> str:
    """A path as a message shows it: quoted, and cut short when long."""
    shown = path if len(path) <= _MAX_PATH_IN_MESSAGE else path[: _MAX_PATH_IN_MESSAGE - 3] + "..."
    return repr(shown)
