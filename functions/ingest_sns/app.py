"""SNS and SQS (SNS -> SQS buffer) -> the ses_events lake.

SQS batches report partial failures: only records whose rows could not be written are retried.
A direct SNS invocation that cannot write raises, so Lambda retries it and then sends it to the
on-failure destination.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.envelopes import sqs_retry_key
from seslake.errors import LakeWriteError
from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri, ingest_lambda_event
from seslake.telemetry import NAMESPACE, report

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    stats = ingest_lambda_event(event, lake())
    report(stats, logger, metrics)
    if not _is_sqs(event):
        if stats.failed:
            raise LakeWriteError(next(iter(stats.failed.values())))
        return stats.as_dict()

    def record_handler(record: SQSRecord) -> None:
        error = stats.failed.get(sqs_retry_key(record.message_id))
        if error is not None:
            raise LakeWriteError(error)

    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


def _is_sqs(event: dict[str, Any]) -> bool:
    records = event.get("Records") or [{}]
    return bool(records[0].get("eventSource") == "aws:sqs")
