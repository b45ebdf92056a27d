"""`seslake invoke FUNCTION EVENT_FILE`: a function's real handler on a laptop, against moto.

No Docker: the stack's resources are created in moto from template.yaml, the function gets the
environment the template gives it, and its handler runs in this process. What an event points
at is put in place first: the object an S3 event names is uploaded (from `--object`, or a
bundled sample), and a custom resource's ResponseURL is answered by a local HTTP server whose
received response is printed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from .template import ROOT, LocalStack, TemplateError, load_handler, load_template, stand_up

#: What an S3 event's object holds when --object is not given, per function.
SAMPLE_OBJECTS = {
    "ingest_s3": ROOT / "events" / "ses" / "envelopes" / "firehose-batch.txt",
    "load_internal": ROOT / "events" / "load_internal" / "requests.csv",
}


def function_names(template: dict[str, Any]) -> dict[str, str]:
    """functions/<name> -> logical id, for every function of the template."""
    names = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            names[Path(resource["Properties"]["CodeUri"]).name] = logical
    return names


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "seslake-invoke"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@contextmanager
def _cloudformation(received: list[dict[str, Any]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/cloudformation"
    finally:
        server.shutdown()
        server.server_close()


def _place_s3_objects(event: dict[str, Any], stack: LocalStack, body: bytes) -> None:
    import boto3

    bucket = stack.physical["LakeBucket"]
    for record in event.get("Records", []):
        if record.get("eventSource") != "aws:s3":
            continue
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        boto3.client("s3").put_object(Bucket=bucket, Key=record["s3"]["object"]["key"], Body=body)


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
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("LAKE_URI", None)
    received: list[dict[str, Any]] = []
    try:
        with mock_aws(), _cloudformation(received) as response_url:
            stack = stand_up(template)
            os.environ.update(stack.function_environment(names[name]))
            if any(r.get("eventSource") == "aws:s3" for r in event.get("Records", [])):
                sample = object_file or SAMPLE_OBJECTS.get(name)
                if sample is None:
                    raise TemplateError("this S3 event needs --object FILE to put in place")
                _place_s3_objects(event, stack, sample.read_bytes())
            if "ResponseURL" in event:
                event["ResponseURL"] = response_url
            # The function's log and metric lines (stdout in Lambda) go to stderr here, so
            # stdout holds only the result.
            with redirect_stdout(sys.stderr):
                response = load_handler(name).lambda_handler(event, _Context(name))
            import boto3

            listed = boto3.client("s3").list_objects_v2(
                Bucket=stack.physical["LakeBucket"], Prefix=stack.parameters["LakePrefix"] + "/"
            )
            written = [item["Key"] for item in listed.get("Contents", [])]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    result: dict[str, Any] = {"function": names[name], "response": response, "lake_keys": written}
    if received:
        result["cloudformation_response"] = received[0]
    return result
