"""Daily compaction (EventBridge schedule): small Parquet files of past days -> few large ones.

Every partition of a day before today (UTC) with more than one file is rewritten without
duplicates; new files are verified before the old ones are deleted (seslake.compaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.compaction import CompactionStats, compact_lake
from seslake.errors import CompactionError
from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri
from seslake.telemetry import NAMESPACE

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri())


def _log_partition(prefix: str, stats: CompactionStats) -> None:
    logger.info("partition compacted", extra={"partition": prefix, **stats.as_dict()})
    if stats.files_set_aside:
        logger.error("unreadable files moved under corrupt/", extra={"partition": prefix})


def _log_failure(prefix: str, error: Exception) -> None:
    logger.error("partition not compacted", extra={"partition": prefix, "reason": str(error)})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    before = str(event.get("before") or today)
    stats = compact_lake(lake(), before, on_partition=_log_partition, on_failure=_log_failure)
    metrics.add_metric(name="PartitionsCompacted", unit=MetricUnit.Count, value=stats.partitions)
    metrics.add_metric(name="FilesCompacted", unit=MetricUnit.Count, value=stats.files_in)
    metrics.add_metric(name="DuplicatesRemoved", unit=MetricUnit.Count, value=stats.duplicates)
    metrics.add_metric(name="FilesSetAside", unit=MetricUnit.Count, value=stats.files_set_aside)
    metrics.add_metric(
        name="PartitionsFailed", unit=MetricUnit.Count, value=stats.partitions_failed
    )
    summary = {"before": before, **stats.as_dict()}
    logger.info("compaction done", extra=summary)
    if stats.partitions_failed:  # the others are done; a retry redoes only what is left
        raise CompactionError(f"{stats.partitions_failed} partition(s) not compacted: see the log")
    return summary
