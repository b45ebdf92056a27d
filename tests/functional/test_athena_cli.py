"""The CLI's questions against a deployed stack (`--athena`), with moto standing in for Athena.

moto does not run SQL: each test queues the result Athena would return and checks the query
seslake sent, the workgroup and database it used, and how the answer is printed.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from seslake_cli.commands import main
from seslake_cli.stack import stand_up


def queue_result(columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    from moto.athena.models import QueryResults, athena_backends

    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    data = [{"Data": [{"VarCharValue": value} for value in row]} for row in rows]
    info = [{"Name": name, "Type": kind} for name, kind in columns]
    athena_backends["123456789012"]["us-east-1"].query_results_queue.append(
        QueryResults(rows=[header, *data], column_info=info)
    )


def executions() -> list[Any]:
    from moto.athena.models import athena_backends

    return list(athena_backends["123456789012"]["us-east-1"].executions.values())


@pytest.fixture
def deployed(moto_aws: None) -> None:
    stand_up()
    # The views custom resource would have created message_facts; Athena keeps views in Glue.
    columns = ["message_id", "recipient", "region", "email_type", "is_sent", "tags"]
    boto3.client("glue").create_table(
        DatabaseName="seslake",
        TableInput={
            "Name": "message_facts",
            "TableType": "VIRTUAL_VIEW",
            "StorageDescriptor": {"Columns": [{"Name": c, "Type": "string"} for c in columns]},
        },
    )
    boto3.client("cloudformation").create_stack(
        StackName="seslake-prod",
        TemplateBody=json.dumps(
            {
                "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {
                    "GlueDatabase": {"Value": "seslake"},
                    "AthenaWorkGroup": {"Value": "seslake-seslake"},
                },
            }
        ),
    )


def test_summary_through_athena_from_the_stack_outputs(
    deployed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_result([("email_type", "varchar"), ("sent", "bigint")], [["receipt", "7"]])
    code = main(
        ["summary", "--by", "email_type", "--athena", "--stack", "seslake-prod", "--format", "csv"]
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["email_type,sent", "receipt,7"]
    (execution,) = executions()
    workgroup = getattr(execution.workgroup, "name", execution.workgroup)
    assert workgroup == "seslake-seslake"
    assert execution.context["Database"] == "seslake"
    sql = execution.query.lower()
    assert "group by email_type" in sql and "from message_facts" in sql


def test_athena_needs_a_database_and_workgroup(
    moto_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", "message_status", "--athena"]) == 1
    assert "--athena needs --stack, or --database and --workgroup" in capsys.readouterr().err


def test_a_bounded_question_sends_the_views_inlined_over_its_days(
    deployed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Athena has no parameterized views: `--since` sends the views the question reads as
    common table expressions over a scan of the days asked (and the window after them)."""
    queue_result([("region", "varchar"), ("sent", "bigint")], [["eu", "3"]])
    bounded = ["--since", "2026-03-03", "--until", "2026-03-05", "--window-days", "7"]
    code = main(["summary", "--athena", "--stack", "seslake-prod", *bounded, "--format", "csv"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["region,sent", "eu,3"]
    (execution,) = executions()
    sql = execution.query
    scan = "(select * from ses_events where dt between '2026-03-03' and '2026-03-12') as ses_events"
    assert sql.count(scan) == 1  # ses_events_unique, the one view reading the table
    assert sql.startswith("with ses_events_unique as (")
    cohort = "date(sent_at) between cast('2026-03-03' as date) and cast('2026-03-05' as date)"
    assert cohort in sql.lower()
