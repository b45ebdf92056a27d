"""The Glue catalog and Athena, with boto3 only: creating the views, following ses_requests.

The function that creates the views at deploy time and the one that loads internal data both use
this module; it needs neither pandas nor awswrangler, so it fits in the ingest layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from .errors import CatalogError
from .schema import REQUESTS_TABLE
from .views import Scan, View, inline

#: Athena states after which a query will not change again.
_DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


def glue_type(arrow_type: pa.DataType) -> str:
    """The Glue (Hive DDL) type of an Arrow type, for internal data columns."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint" if arrow_type.bit_width > 32 else "int"
    if pa.types.is_floating(arrow_type):
        return "double" if arrow_type.bit_width > 32 else "float"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    # Nested types have none on purpose: load-internal keeps nested values as JSON text.
    raise CatalogError(f"no Glue type for Arrow type {arrow_type}")


def run_statement(
    athena: Any,
    sql: str,
    database: str,
    workgroup: str,
    *,
    timeout: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run one statement in Athena and wait for it; the query execution id."""
    started = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        WorkGroup=workgroup,
    )
    execution_id: str = started["QueryExecutionId"]
    waited, delay = 0.0, 0.2
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        state = status["Status"]["State"]
        if state == "SUCCEEDED":
            return execution_id
        if state in _DONE:
            reason = status["Status"].get("StateChangeReason", "no reason given")
            raise CatalogError(f"Athena query {execution_id} {state}: {reason}")
        if waited >= timeout:
            raise CatalogError(f"Athena query {execution_id} still {state} after {timeout:.0f} s")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 5.0)


def table_columns(glue: Any, database: str, table: str) -> list[str]:
    """The column names of a Glue table (partition keys last)."""
    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    columns = found["StorageDescriptor"]["Columns"] + found.get("PartitionKeys", [])
    return [c["Name"] for c in columns]


def create_views(
    athena: Any,
    glue: Any,
    database: str,
    workgroup: str,
    views: Sequence[View],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Create or replace every view, in dependency order, then the prepared statements of the
    bounded questions; the names of the views created.

    The internal-columns marker lists ses_requests' columns as the Glue table has them now.
    """
    request_columns = table_columns(glue, database, REQUESTS_TABLE)
    created = []
    for view in views:
        statement = view.statement(request_columns)
        try:
            run_statement(athena, statement, database, workgroup, sleep=sleep)
        except CatalogError as error:
            raise CatalogError(f"view {view.name}: {error}") from error
        created.append(view.name)
    statements = prepared_statements(views, request_columns, database)
    create_prepared_statements(athena, workgroup, statements)
    return created


def merge_request_columns(glue: Any, database: str, schema: pa.Schema) -> list[str]:
    """Add the columns of `schema` that the ses_requests Glue table lacks; the names added.

    Columns are only ever added, never dropped or retyped, so files loaded earlier stay readable.
    """
    table = glue.get_table(DatabaseName=database, Name=REQUESTS_TABLE)["Table"]
    descriptor = table["StorageDescriptor"]
    known = {c["Name"] for c in descriptor["Columns"]}
    added = [
        {"Name": field.name, "Type": glue_type(field.type)}
        for field in schema
        if field.name not in known
    ]
    if not added:
        return []
    descriptor["Columns"] = descriptor["Columns"] + added
    keep = (
        "Name",
        "Description",
        "Owner",
        "Retention",
        "StorageDescriptor",
        "PartitionKeys",
        "TableType",
        "Parameters",
    )
    glue.update_table(DatabaseName=database, TableInput={k: table[k] for k in keep if k in table})
    return [c["Name"] for c in added]


#: Bounded questions for the Athena console, as prepared statements of the stack's workgroup:
#: `EXECUTE summary_between USING DATE '2026-11-01', DATE '2026-11-30'` (the first and last day
#: of sending). Each reads the `dt` partitions of those days and WINDOW_DAYS after.
PREPARED_STATEMENTS = {
    "summary_between": "select * from summary_by_region",
    "message_status_between": "select * from message_status",
    "message_facts_between": "select * from message_facts",
    "opened_not_clicked_between": "select * from opened_not_clicked",
}

#: Days after the last day of sending whose events a prepared statement reads (as the CLI's
#: default --window-days).
WINDOW_DAYS = 30

#: Athena's limit on a prepared statement's text (CreatePreparedStatement, QueryStatement).
MAX_STATEMENT_CHARS = 262_144


def prepared_statements(
    views: Sequence[View], request_columns: Sequence[str], database: str
) -> dict[str, str]:
    """Each bounded question's text: its view's SQL, bounded at the base scan by two
    parameters."""
    scan = Scan.parameters(WINDOW_DAYS)
    statements = {}
    for name, question in PREPARED_STATEMENTS.items():
        text = inline(question, views, request_columns, scan, database)
        if len(text) > MAX_STATEMENT_CHARS:
            raise CatalogError(
                f"prepared statement {name} is {len(text):,} characters, over Athena's "
                f"{MAX_STATEMENT_CHARS:,}: ses_requests has too many columns"
            )
        statements[name] = text
    return statements


def create_prepared_statements(
    athena: Any, workgroup: str, statements: dict[str, str]
) -> list[str]:
    """Create each prepared statement in the workgroup, or update it if it exists."""
    for name, text in statements.items():
        description = (
            f"seslake: {PREPARED_STATEMENTS[name].split()[-1]} of the messages sent between two "
            f"days, e.g. EXECUTE {name} USING DATE '2026-11-01', DATE '2026-11-30'"
        )
        fields = {
            "StatementName": name,
            "WorkGroup": workgroup,
            "QueryStatement": text,
            "Description": description,
        }
        try:
            athena.create_prepared_statement(**fields)
        except athena.exceptions.InvalidRequestException:
            # It exists (a stack update, a load that changed ses_requests): replace its text.
            athena.update_prepared_statement(**fields)
    return list(statements)
