"""Raw Firehose objects (S3 ObjectCreated under the raw prefix) -> the ses_events lake.

Objects are streamed, never held whole. Rows go to the lake prefix, which never overlaps the
raw prefix, so writing cannot trigger this function again.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.errors import LakeWriteError
from seslake.lake import Lake, open_lake
from seslake.sources import check_trigger, env_lake_uri, ingest_s3_object, s3_objects
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
    results = []
    for obj in s3_objects(event):
        check_trigger(obj, os.environ.get("RAW_PREFIX", "raw/"), lake())
        stats = ingest_s3_object(obj, lake(), s3(), skip_rewritten=True)
        report(stats, logger, metrics, object=obj.uri)
        if stats.failed:
            raise LakeWriteError(next(iter(stats.failed.values())))
        results.append({"object": obj.uri, **stats.as_dict()})
    return {"objects": results}
