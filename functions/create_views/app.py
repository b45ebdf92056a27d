"""CloudFormation custom resource: create or replace the athena/views views, in order.

Create and Update first put back any ses_requests column the loaded files have and the Glue
table lost (a stack update rewrites the table from the template), then run every view file
through Athena in dependency order; Delete does nothing
(deleting the Glue database removes the views). CloudFormation always gets an answer: a failure
is reported with the view and Athena's reason, never left to time out.
"""

from __future__ import annotations

import json
import urllib.request
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seslake.catalog import create_views, merge_request_columns
from seslake.internal import loaded_schema
from seslake.lake import Lake, open_lake
from seslake.sources import env_lake_uri
from seslake.views import load_views

logger = Logger()


@cache
def athena() -> Any:
    return boto3.client("athena")


@cache
def glue() -> Any:
    return boto3.client("glue")


@cache
def lake() -> Lake:
    return open_lake(env_lake_uri())


def respond(
    event: dict[str, Any], status: str, reason: str = "", data: dict[str, str] | None = None
) -> None:
    """PUT the result to the pre-signed URL CloudFormation waits on."""
    properties = event.get("ResourceProperties", {})
    body = {
        "Status": status,
        "Reason": reason[:1000] or status,
        "PhysicalResourceId": event.get("PhysicalResourceId")
        or f"{properties.get('Database', 'seslake')}-views",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }
    payload = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's own
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        logger.info("answered CloudFormation", extra={"status": status, "http": response.status})


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    if event["RequestType"] == "Delete":
        respond(event, "SUCCESS", "views go with the Glue database")
        return
    properties = event["ResourceProperties"]
    try:
        # A stack update rewrites the ses_requests Glue table from the template, dropping the
        # columns loads added: put back every column the loaded files have first.
        schema = loaded_schema(lake())
        restored = merge_request_columns(glue(), properties["Database"], schema) if schema else []
        if restored:
            logger.info("ses_requests columns restored", extra={"columns": restored})
        created = create_views(
            athena(),
            glue(),
            properties["Database"],
            properties["WorkGroup"],
            load_views(),
        )
    except Exception as error:  # noqa: BLE001 - CloudFormation must hear of every failure
        logger.exception("views not created")
        respond(event, "FAILED", f"{type(error).__name__}: {error}")
        return
    respond(event, "SUCCESS", data={"Views": ",".join(created)})
