"""The price table the writer bills with: valid, dated, and pricing what the pipeline runs."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from pipeline.config import PipelineConfig
from pipeline.prices import PRICES_PATH, PriceTable, foundation_model, load_prices
from pipeline_contracts.cost import CostLine, ItemCost


def test_the_table_is_dated_and_prices_every_default_model_and_the_alignment_instance():
    table = load_prices()
    config = PipelineConfig()
    assert table.as_of <= dt.date(2026, 12, 1)
    assert "us-east-1" in table.regions
    for region in table.regions.values():
        for model_id in {config.models.image, config.models.text, config.models.fusion}:
            assert region.tokens(model_id) is not None, model_id
        assert config.alignment.instance_type in region.sagemaker_processing_per_hour


def test_the_figures_asked_for_in_us_east_1():
    prices = load_prices().regions["us-east-1"]
    lite, pro = prices.tokens("us.amazon.nova-lite-v1:0"), prices.tokens("us.amazon.nova-pro-v1:0")
    assert lite is not None
    assert (lite.input, lite.output) == (0.00006, 0.00024)
    assert pro is not None
    assert (pro.input, pro.output) == (0.0008, 0.0032)
    assert (prices.transcribe_per_minute, prices.transcribe_minimum_s) == (0.024, 15)
    assert prices.stepfunctions_per_1k_transitions == 0.025
    assert prices.lambda_per_gb_s == 0.0000166667


def test_a_typo_in_the_table_fails_its_validation():
    document = PRICES_PATH.read_text().replace('"s3_get_per_1k"', '"s3_gett_per_1k"')
    with pytest.raises(ValidationError):
        PriceTable.model_validate_json(document)


@pytest.mark.parametrize(
    ("model_id", "base"),
    [
        ("us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        (
            "arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-micro-v1:0",
            "amazon.nova-micro-v1:0",
        ),
    ],
)
def test_inference_profiles_are_priced_as_their_model(model_id, base):
    assert foundation_model(model_id) == base


def test_a_cost_whose_sums_do_not_hold_is_refused():
    lines = [CostLine(service="bedrock", unit="1K input tokens, m", quantity=1, usd=0.5)]
    assert ItemCost.of(lines, "2026-12-01", "us-east-1").ai == 0.5
    with pytest.raises(ValidationError, match="ai is"):
        ItemCost(
            total=0.5,
            ai=0.4,
            orchestration=0.1,
            lines=lines,
            prices_as_of="2026-12-01",
            region="us-east-1",
        )
