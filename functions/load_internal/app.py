"""Internal data files (S3 ObjectCreated under internal/incoming/) -> the ses_requests table.

Each file becomes one Parquet file under <lake>/ses_requests/ (a reload replaces it), rejected
rows go to quarantine/ses_requests/ with file, line and reason, new columns are added to the
Glue table, and the views are re-created so message_facts lists them.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.catalog import create_views, merge_request_columns
from seslake.errors import InternalFileError, TriggerError
from seslake.internal import Source, load_internal, parse_types
from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri, s3_objects
from seslake.telemetry import NAMESPACE
from seslake.views import load_views

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


@cache
def s3() -> S3Client:
    return boto3.client("s3")


@cache
def glue() -> Any:
    return boto3.client("glue")


@cache
def athena() -> Any:
    return boto3.client("athena")


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri(), s3())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    prefix = os.environ.get("INTERNAL_PREFIX", "internal/incoming/")
    database, workgroup = os.environ["GLUE_DATABASE"], os.environ["ATHENA_WORKGROUP"]
    results = []
    for obj in s3_objects(event):
        if not obj.key.startswith(prefix):
            raise TriggerError(f"{obj.uri} is outside {prefix!r}: the S3 trigger is misconfigured")
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / Path(obj.key).name
            # The version the event names, not whatever the key holds by now.
            extra = {"VersionId": obj.version} if obj.version else None
            s3().download_file(obj.bucket, obj.key, str(path), ExtraArgs=extra)
            try:
                types = parse_types(os.environ.get("INTERNAL_COLUMN_TYPES", ""))
                stats, schema = load_internal([Source(path, obj.identity)], lake(), types)
            except InternalFileError as error:
                # The file as a whole cannot be read: retrying will not help. Say so and move on.
                logger.error(
                    "internal file refused", extra={"object": obj.uri, "reason": str(error)}
                )
                metrics.add_metric(name="InternalFilesRefused", unit=MetricUnit.Count, value=1)
                results.append({"object": obj.uri, "refused": str(error)})
                continue
        added = merge_request_columns(glue(), database, schema) if schema else []
        # Always, not only when columns were added: after a failed attempt the retry finds
        # the columns already in Glue and would otherwise leave the views without them.
        create_views(athena(), glue(), database, workgroup, load_views())
        summary = {"object": obj.uri, **stats.as_dict(), "columns_added": added}
        log = logger.warning if stats.rejected else logger.info
        log("internal data loaded", extra=summary)
        metrics.add_metric(name="InternalRowsLoaded", unit=MetricUnit.Count, value=stats.rows)
        metrics.add_metric(
            name="InternalRowsRejected", unit=MetricUnit.Count, value=len(stats.rejected)
        )
        results.append(summary)
    return {"objects": results}
