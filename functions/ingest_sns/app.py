"""SNS and SQS (SNS -> SQS buffer) -> the ses_events lake.

SQS batches report partial failures: only records whose rows could not be written are retried.
A direct SNS invocation that cannot write raises, so Lambda retries it and then sends it to the
on-failure destination.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri, ingest_lambda_event, lambda_event_response
from seslake.telemetry import NAMESPACE, report

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The whole batch is normalized and written at once (one file per partition, not one per
    # message); the response names the messages whose rows could not be written.
    stats = ingest_lambda_event(event, lake())
    report(stats, logger, metrics)
    return lambda_event_response(event, stats)
