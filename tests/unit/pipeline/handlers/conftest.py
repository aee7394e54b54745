"""The handlers' tests chain them over the same in-memory world the vision domain tests use."""

from tests.unit.pipeline.domain.vision.conftest import (  # noqa: F401 - pytest fixtures
    add_asset,
    config,
    fresh_metrics,
    store,
    write_plan,
)
