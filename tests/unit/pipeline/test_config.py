"""The configuration refuses, at synth, what would make items end in the wrong place."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.config import CAPACITY_WAIT_S, WORK_AROUND_WAITS_S, PipelineConfig, load_config


def test_the_defaults_fit_every_wait_inside_the_execution_timeout():
    config = PipelineConfig()
    longest = max(
        config.transcribe_timeout_s,
        config.alignment.max_runtime_s,
        config.bundle_manifest_wait_s,
    )
    assert longest + CAPACITY_WAIT_S + WORK_AROUND_WAITS_S <= config.execution_timeout_s


@pytest.mark.parametrize(
    "block",
    [
        {"transcribe_timeout_s": 18 * 3600},
        {"alignment": {"max_runtime_s": 18 * 3600}},
        {"bundle_manifest_wait_s": 24 * 3600},
        {"execution_timeout_s": 3600},
    ],
)
def test_a_wait_that_would_outlast_the_execution_is_refused(block):
    # A wait longer than the execution leaves its item TIMED_OUT instead of where it belongs
    with pytest.raises(ValidationError, match="execution_timeout_s"):
        load_config(block)


def test_a_longer_execution_timeout_makes_room_for_longer_waits():
    config = load_config({"transcribe_timeout_s": 10 * 3600, "execution_timeout_s": 18 * 3600})
    assert config.transcribe_timeout_s == 10 * 3600
