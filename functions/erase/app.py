"""One batch of an erasure: files or objects the EraseStateMachine's maps hand out, each
rewritten without the request's addresses (only if unchanged since read), old versions deleted.

The addresses come from the request object the batch names, never from the event: Step
Functions keeps execution input and history.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.erase import map_batch
from seslake.lake import Lake, S3Lake

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger()


@cache
def s3() -> S3Client:
    return boto3.client("s3")


@cache
def bucket() -> Lake:
    """The whole bucket: the batch's keys are full keys (lake tables, quarantine, raw)."""
    return S3Lake(os.environ["LAKE_BUCKET"], "", s3())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = map_batch(event, bucket())
    summary = change.as_dict()
    logger.info("erased", extra=summary)  # counts only: never an address
    return summary
