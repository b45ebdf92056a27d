"""Internal data files (S3 ObjectCreated under internal/incoming/) -> the ses_requests table.

Each file becomes one Parquet file under <lake>/ses_requests/ (a reload replaces it), rejected
rows go to quarantine/ses_requests/ with file, line and reason, new columns are added to the
Glue table, and the views are re-created so message_facts lists them.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.catalog import create_views, merge_request_columns
from seslake.errors import InternalFileError, TriggerError
from seslake.internal import load_s3_object, parse_types
from seslake.lake import Lake, open_lake
from seslake.sources import S3Object, env_lake_uri, s3_objects
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
    return {"objects": [load_object(obj) for obj in s3_objects(event)]}


def load_object(obj: S3Object) -> dict[str, Any]:
    """One internal file: loaded, its new columns added to Glue, the views re-created."""
    prefix = os.environ.get("INTERNAL_PREFIX", "internal/incoming/")
    if not obj.key.startswith(prefix):
        raise TriggerError(f"{obj.uri} is outside {prefix!r}: the S3 trigger is misconfigured")
    database, workgroup = os.environ["GLUE_DATABASE"], os.environ["ATHENA_WORKGROUP"]
    types = parse_types(os.environ.get("INTERNAL_COLUMN_TYPES", ""))
    try:
        stats, schema = load_s3_object(obj, lake(), s3(), types)
    except InternalFileError as error:
        # The file as a whole cannot be read: retrying will not help. Say so and move on.
        logger.error("internal file refused", extra={"object": obj.uri, "reason": str(error)})
        metrics.add_metric(name="InternalFilesRefused", unit=MetricUnit.Count, value=1)
        return {"object": obj.uri, "refused": str(error)}
    added = merge_request_columns(glue(), database, schema) if schema else []
    # Always, not only when columns were added: after a failed attempt the retry finds the
    # columns already in Glue and would otherwise leave the views without them.
    create_views(athena(), glue(), database, workgroup, load_views())
    summary = {"object": obj.uri, **stats.as_dict(), "columns_added": added}
    log = logger.warning if stats.rejected else logger.info
    log("internal data loaded", extra=summary)
    metrics.add_metric(name="InternalRowsLoaded", unit=MetricUnit.Count, value=stats.rows)
    metrics.add_metric(
        name="InternalRowsRejected", unit=MetricUnit.Count, value=len(stats.rejected)
    )
    return summary
