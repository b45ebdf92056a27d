"""`seslake invoke FUNCTION EVENT_FILE`: a function's real handler on a laptop, against moto.

No Docker: the stack's resources are created in moto from template.yaml, the function gets the
environment the template gives it, and its handler runs in this process. What an event points
at is put in place first: the object an S3 event names is uploaded (from `--object`, or a
bundled sample), and a custom resource's ResponseURL is answered by a local HTTP server whose
received response is printed.
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from .errors import TemplateError
from .stack import (
    ROOT,
    LocalContext,
    LocalStack,
    cloudformation_endpoint,
    environment,
    load_handler,
    load_template,
    stand_up,
)

#: What an S3 event's object holds when --object is not given, per function.
SAMPLE_OBJECTS = {
    "ingest_s3": ROOT / "events" / "ses" / "envelopes" / "firehose-batch.txt",
    "load_internal": ROOT / "events" / "load_internal" / "requests.csv",
    "backfill": ROOT / "events" / "ses" / "envelopes" / "firehose-batch.txt",
    "erase": ROOT / "events" / "ses" / "envelopes" / "firehose-batch.txt",
}
#: The erasure request a sample erase batch names (the addresses, kept out of the event).
ERASE_REQUEST = ROOT / "events" / "erase" / "objects" / "request.json"


def function_names(template: dict[str, Any]) -> dict[str, str]:
    """functions/<name> -> logical id, for every function of the template."""
    names = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            names[Path(resource["Properties"]["CodeUri"]).name] = logical
    return names


def _place_s3_objects(event: dict[str, Any], stack: LocalStack, body: bytes) -> None:
    import boto3

    bucket = stack.physical["LakeBucket"]
    for record in event.get("Records", []):
        if record.get("eventSource") != "aws:s3":
            continue
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        boto3.client("s3").put_object(Bucket=bucket, Key=record["s3"]["object"]["key"], Body=body)


def _place_batch_objects(event: dict[str, Any], stack: LocalStack, body: bytes) -> None:
    """A Step Functions Distributed Map batch: each item's object (and an erase batch's
    request) put in the stack's bucket."""
    import boto3

    bucket = stack.physical["LakeBucket"]
    s3 = boto3.client("s3")
    if "bucket" in event["BatchInput"]:
        event["BatchInput"]["bucket"] = bucket
    for item in event["Items"]:
        s3.put_object(Bucket=bucket, Key=item.get("Key") or item["key"], Body=body)
    request = event["BatchInput"].get("request")
    if request:
        s3.put_object(Bucket=bucket, Key=request, Body=ERASE_REQUEST.read_bytes())


def invoke(function: str, event_file: Path, object_file: Path | None = None) -> dict[str, Any]:
    """Run the function's handler on the event in moto; its response and what it wrote."""
    from moto import mock_aws

    template = load_template()
    names = function_names(template)
    name = (
        function
        if function in names
        else next((n for n, logical in names.items() if logical == function), None)
    )
    if name is None:
        raise TemplateError(f"no function {function!r} (functions: {', '.join(sorted(names))})")
    event: dict[str, Any] = json.loads(event_file.read_text())
    credentials: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAKE_URI": None,
    }
    received: list[dict[str, Any]] = []
    with environment(credentials), mock_aws(), cloudformation_endpoint(received) as response_url:
        stack = stand_up(template)
        with environment(dict(stack.function_environment(names[name]))):
            if any(r.get("eventSource") == "aws:s3" for r in event.get("Records", [])):
                sample = object_file or SAMPLE_OBJECTS.get(name)
                if sample is None:
                    raise TemplateError("this S3 event needs --object FILE to put in place")
                _place_s3_objects(event, stack, sample.read_bytes())
            if "Items" in event and isinstance(event.get("BatchInput"), dict):
                sample = object_file or SAMPLE_OBJECTS.get(name)
                if sample is None:
                    raise TemplateError("this batch needs --object FILE to put in place")
                _place_batch_objects(event, stack, sample.read_bytes())
            if "ResponseURL" in event:
                event["ResponseURL"] = response_url
            # The function's log and metric lines (stdout in Lambda) go to stderr here, so
            # stdout holds only the result.
            with redirect_stdout(sys.stderr):
                response = load_handler(name).lambda_handler(event, LocalContext(name))
            import boto3

            listed = boto3.client("s3").list_objects_v2(
                Bucket=stack.physical["LakeBucket"], Prefix=stack.parameters["LakePrefix"] + "/"
            )
            written = [item["Key"] for item in listed.get("Contents", [])]
    result: dict[str, Any] = {"function": names[name], "response": response, "lake_keys": written}
    if received:
        result["cloudformation_response"] = received[0]
    return result
