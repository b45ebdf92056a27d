"""Counts of a run to Powertools logs and CloudWatch metrics (embedded metric format)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from seslake.ingest import IngestStats

NAMESPACE = "seslake"


def report(stats: IngestStats, logger: Logger, metrics: Metrics, **context: Any) -> None:
    """Log the run's counts and record them as metrics (per event type for rows)."""
    summary = stats.as_dict()
    if stats.quarantine_reasons:
        summary["quarantine_reasons"] = dict(stats.quarantine_reasons)
    if stats.failed:
        logger.error(
            "ingest could not write",
            extra={**summary, **context, "failed_inputs": list(stats.failed)},
        )
    elif stats.quarantined:
        logger.warning("ingest quarantined records", extra={**summary, **context})
    else:
        logger.info("ingest done", extra={**summary, **context})
    metrics.add_metric(name="RecordsIn", unit=MetricUnit.Count, value=stats.records)
    metrics.add_metric(name="RowsWritten", unit=MetricUnit.Count, value=stats.rows)
    metrics.add_metric(name="Quarantined", unit=MetricUnit.Count, value=stats.quarantined)
    metrics.add_metric(name="WriteFailures", unit=MetricUnit.Count, value=len(stats.failed))
    metrics.add_metric(name="HardBounces", unit=MetricUnit.Count, value=stats.hard_bounces)
    metrics.add_metric(name="ReadGeneral", unit=MetricUnit.Count, value=stats.read_general)
    for event_type, rows in stats.rows_by_type.items():
        with single_metric(
            name="RowsWritten", unit=MetricUnit.Count, value=rows, namespace=NAMESPACE
        ) as metric:
            metric.add_dimension(name="event_type", value=event_type)
