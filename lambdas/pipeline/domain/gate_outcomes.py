"""What every quality gate records: one metric and one log line per verdict."""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.metrics import MetricUnit

from pipeline.observability import logger, metrics
from pipeline_contracts.outcomes import GateResult


def record_gate_outcomes(gates: Iterable[GateResult]) -> None:
    """GatePassed / GateFailed counts (no dimensions beyond the service), plus one log line each."""
    for gate in gates:
        metrics.add_metric(
            name="GatePassed" if gate.passed else "GateFailed", unit=MetricUnit.Count, value=1
        )
        logger.info(
            "Gate evaluated",
            extra={
                "gate": gate.name,
                "passed": gate.passed,
                "score": gate.score,
                "threshold": gate.threshold,
                "reason": gate.reason,
            },
        )
