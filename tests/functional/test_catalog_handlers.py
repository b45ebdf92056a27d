"""The views custom resource and the internal-data loader, against moto's Athena, Glue and S3.

CloudFormation's side of the custom resource is a real HTTP server on localhost receiving the
PUT the handler sends to the ResponseURL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seslake.catalog import PREPARED_STATEMENTS, create_prepared_statements
from seslake.schema import REQUEST_KEY_COLUMNS, glue_columns
from seslake.views import load_views
from seslake_cli.stack import cloudformation_endpoint, load_handler
from tests.conftest import EVENTS, load_event

DATABASE = "seslake"
WORKGROUP = "seslake-seslake"
BUCKET = "seslake-local"


class CloudFormation:
    """The responses PUT to the custom resource's ResponseURL, and that URL."""

    def __init__(self, url: str, responses: list[dict[str, Any]]) -> None:
        self.url = url
        self.responses = responses


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    responses: list[dict[str, Any]] = []
    with cloudformation_endpoint(responses) as url:
        yield CloudFormation(url, responses)


@pytest.fixture
def catalog(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's catalog as template.yaml defines it: database, ses_requests, workgroup."""
    glue: Any = boto3.client("glue")
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "ses_requests",
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "Columns": glue_columns(REQUEST_KEY_COLUMNS)
                + [{"Name": "email_type", "Type": "string"}],
                "Location": f"s3://{BUCKET}/lake/ses_requests/",
            },
        },
    )
    boto3.client("athena").create_work_group(Name=WORKGROUP)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}/lake")
    monkeypatch.setenv("GLUE_DATABASE", DATABASE)
    monkeypatch.setenv("ATHENA_WORKGROUP", WORKGROUP)


def athena_queries() -> list[str]:
    from moto.athena.models import athena_backends

    backend = athena_backends["123456789012"]["us-east-1"]
    return [execution.query for execution in backend.executions.values()]


def request(kind: str, url: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_event("create_views/create.json"))
    event["RequestType"] = kind
    event["ResponseURL"] = url
    if kind != "Create":
        event["PhysicalResourceId"] = "seslake-views"
    return event


def test_create_runs_every_view_in_dependency_order(
    catalog: None, cloudformation: CloudFormation, lambda_context: Any
) -> None:
    handler = load_handler("create_views")
    handler.lambda_handler(request("Create", cloudformation.url), lambda_context)

    queries = athena_queries()
    names = [v.name for v in load_views()]
    created = [q.splitlines()[0] for q in queries]  # each statement starts with `create`
    assert created == [f"create or replace view {n} as" for n in names]
    facts = queries[names.index("message_facts")]
    assert 'requests."email_type" as "email_type"' in facts  # the Glue table's own column
    (response,) = cloudformation.responses
    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"Views": ",".join(names)}
    assert response["PhysicalResourceId"] == "seslake-views"
    assert response["LogicalResourceId"] == "Views"
    # then the bounded questions, prepared in the workgroup with the company's columns
    athena: Any = boto3.client("athena")
    for name in PREPARED_STATEMENTS:
        prepared = athena.get_prepared_statement(StatementName=name, WorkGroup=WORKGROUP)
        text = prepared["PreparedStatement"]["QueryStatement"]
        assert text.startswith("with seslake_bounds as (select cast(? as date)")
        assert f'"{DATABASE}".ses_events as scanned' in text
    facts_between = athena.get_prepared_statement(
        StatementName="message_facts_between", WorkGroup=WORKGROUP
    )["PreparedStatement"]["QueryStatement"]
    assert 'requests."email_type" as "email_type"' in facts_between


def test_prepared_statements_that_exist_are_updated() -> None:
    """Athena refuses to create a prepared statement twice: a stack update or a load that added
    columns updates it instead."""
    calls: list[tuple[str, str]] = []

    class Exists(Exception):
        pass

    class Athena:
        exceptions = type("Exceptions", (), {"InvalidRequestException": Exists})

        def create_prepared_statement(self, **fields: str) -> None:
            calls.append(("create", fields["StatementName"]))
            if fields["StatementName"] == "old":
                raise Exists("already exists")

        def update_prepared_statement(self, **fields: str) -> None:
            calls.append(("update", fields["StatementName"]))

    statements = {"summary_between": "select 1", "old": "select 2"}
    described = dict(PREPARED_STATEMENTS, old="select * from message_status")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("seslake.catalog.PREPARED_STATEMENTS", described)
        create_prepared_statements(Athena(), WORKGROUP, statements)
    assert calls == [("create", "summary_between"), ("create", "old"), ("update", "old")]


def test_a_failing_view_is_reported_to_cloudformation(
    catalog: None, cloudformation: CloudFormation, lambda_context: Any
) -> None:
    handler = load_handler("create_views")

    def fail_message_status(parsed: dict[str, Any], **_: Any) -> None:
        execution = parsed["QueryExecution"]
        if "view message_status" in execution["Query"]:
            execution["Status"] = {
                "State": "FAILED",
                "StateChangeReason": "COLUMN_NOT_FOUND: line 9:9: Column 'x' cannot be resolved",
            }

    handler.athena().meta.events.register(
        "after-call.athena.GetQueryExecution", fail_message_status
    )
    handler.lambda_handler(request("Update", cloudformation.url), lambda_context)

    (response,) = cloudformation.responses
    assert response["Status"] == "FAILED"
    assert "view message_status" in response["Reason"]
    assert "COLUMN_NOT_FOUND" in response["Reason"]
    # It stopped there: nothing that reads message_status was attempted.
    assert not any("view message_facts" in q for q in athena_queries())


def test_delete_answers_without_touching_athena(
    catalog: None, cloudformation: CloudFormation, lambda_context: Any
) -> None:
    handler = load_handler("create_views")
    handler.lambda_handler(request("Delete", cloudformation.url), lambda_context)
    assert [r["Status"] for r in cloudformation.responses] == ["SUCCESS"]
    assert athena_queries() == []


def upload_internal(key: str, body: bytes) -> dict[str, Any]:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    event: dict[str, Any] = copy.deepcopy(load_event("load_internal/s3-object-created.json"))
    event["Records"][0]["s3"]["object"]["key"] = key
    return event


def test_load_internal_writes_the_table_and_adds_new_columns(
    catalog: None, lambda_context: Any, tmp_path: Path
) -> None:
    handler = load_handler("load_internal")
    body = (EVENTS / "load_internal/requests.csv").read_bytes()
    event = upload_internal("internal/incoming/requests.csv", body)

    result = handler.lambda_handler(event, lambda_context)

    (summary,) = result["objects"]
    assert summary["rows"] == 2 and summary["rejected"] == 0
    assert summary["columns_added"] == ["campaign"]  # email_type was already there
    columns = boto3.client("glue").get_table(DatabaseName=DATABASE, Name="ses_requests")
    names = [c["Name"] for c in columns["Table"]["StorageDescriptor"]["Columns"]]
    assert names == [c.name for c in REQUEST_KEY_COLUMNS] + ["email_type", "campaign"]
    # the views were re-created so message_facts lists the new column
    facts = [q for q in athena_queries() if "view message_facts" in q]
    assert len(facts) == 1 and 'requests."campaign" as "campaign"' in facts[0]
    keys = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="lake/")["Contents"]
    ]
    (key,) = keys
    assert key.startswith("lake/ses_requests/requests-")
    local = tmp_path / "part.parquet"
    boto3.client("s3").download_file(BUCKET, key, str(local))
    assert pq.read_table(local).column("region").to_pylist() == ["eu", "us"]

    # the same file again: same object, no new column, no view re-created
    again = handler.lambda_handler(event, lambda_context)
    assert again["objects"][0]["columns_added"] == []
    # Every load re-creates the views, columns added or not: a retry after a failed Athena step
    # must not leave message_facts without the columns Glue already has.
    assert len([q for q in athena_queries() if "view message_facts" in q]) == 2


def test_load_internal_quarantines_rejected_rows_and_refused_files(
    catalog: None, lambda_context: Any
) -> None:
    handler = load_handler("load_internal")
    event = upload_internal("internal/incoming/part.csv", b"message_id,region\nm1,eu\n,us\n")
    (summary,) = handler.lambda_handler(event, lambda_context)["objects"]
    assert (summary["rows"], summary["rejected"]) == (1, 1)
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="lake/quarantine/")["Contents"]
    (entry,) = [
        json.loads(line)
        for line in s3.get_object(Bucket=BUCKET, Key=listed[0]["Key"])["Body"].read().splitlines()
    ]
    assert entry["line"] == 3 and entry["reason"] == "no message_id"
    assert entry["values"] == {"message_id": None, "region": "us"}

    refused = upload_internal("internal/incoming/bad.csv", b"region\neu\n")
    (outcome,) = handler.lambda_handler(refused, lambda_context)["objects"]
    assert "no message_id column" in outcome["refused"]


def test_load_internal_retried_after_a_failed_athena_step_still_lists_the_new_column(
    catalog: None, lambda_context: Any
) -> None:
    handler = load_handler("load_internal")
    body = (EVENTS / "load_internal/requests.csv").read_bytes()
    event = upload_internal("internal/incoming/requests.csv", body)

    def athena_down(**_: Any) -> None:
        raise ConnectionError("Athena unreachable (injected)")

    client = handler.athena()
    client.meta.events.register("before-call.athena.StartQueryExecution", athena_down)
    with pytest.raises(ConnectionError):  # the invocation fails: Lambda retries it
        handler.lambda_handler(event, lambda_context)
    client.meta.events.unregister("before-call.athena.StartQueryExecution", athena_down)

    retried = handler.lambda_handler(event, lambda_context)

    assert retried["objects"][0]["columns_added"] == []  # Glue got them the first time
    (facts,) = [q for q in athena_queries() if "view message_facts" in q]
    assert 'requests."campaign" as "campaign"' in facts


def test_create_puts_back_request_columns_a_stack_update_dropped(
    catalog: None, cloudformation: CloudFormation, lambda_context: Any, tmp_path: Path
) -> None:
    """CloudFormation rewrites the ses_requests table from the template on an update: the
    columns loads had added are gone from Glue, though their files are still in the lake."""
    loaded = tmp_path / "requests.parquet"
    pq.write_table(pa.table({"message_id": ["m1"], "customer_tier": ["gold"]}), loaded)
    boto3.client("s3").upload_file(str(loaded), BUCKET, "lake/ses_requests/requests-1.parquet")
    glue: Any = boto3.client("glue")
    before = glue.get_table(DatabaseName=DATABASE, Name="ses_requests")["Table"]
    assert "customer_tier" not in {c["Name"] for c in before["StorageDescriptor"]["Columns"]}

    load_handler("create_views").lambda_handler(
        request("Update", cloudformation.url), lambda_context
    )

    (answer,) = cloudformation.responses
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    after = glue.get_table(DatabaseName=DATABASE, Name="ses_requests")["Table"]
    assert {"Name": "customer_tier", "Type": "string"} in after["StorageDescriptor"]["Columns"]
    (facts,) = [q for q in athena_queries() if "view message_facts" in q]
    assert 'requests."customer_tier" as "customer_tier"' in facts
