"""One batch of a backfill: raw objects a Step Functions Distributed Map hands out, ingested
again exactly as ingest_s3 ingests them (same rows, same output files: idempotent).

The batch fails if any of its objects could not be written, so the map counts it against its
tolerated failures and its results writer keeps the reason.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.backfill import map_batch
from seslake.errors import LakeWriteError
from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri
from seslake.telemetry import NAMESPACE, report

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


@cache
def s3() -> S3Client:
    return boto3.client("s3")


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri(), s3())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = map_batch(event, lake(), s3())
    report(result.stats, logger, metrics)
    if result.failed:
        uri, reason = next(iter(result.failed.items()))
        raise LakeWriteError(f"{len(result.failed)} object(s) not written, first {uri}: {reason}")
    return result.as_dict()
