"""The same questions against a deployed stack: Athena through awswrangler.

Used by `seslake query/summary/journey --athena`. The workgroup and database come from flags or
from the stack's outputs (`GlueDatabase`, `AthenaWorkGroup`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from seslake.schema import REQUESTS_TABLE
from seslake.views import Scan, View, inline, load_views

from ..errors import AthenaError


def stack_outputs(stack: str, session: Any = None) -> dict[str, str]:
    """The outputs of a CloudFormation stack, by key."""
    import boto3

    client = (session or boto3.Session()).client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:  # botocore raises ClientError and several connection errors
        raise AthenaError(f"cannot read stack {stack!r}: {exc}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


class AthenaEngine:
    """Runs Athena SQL in a workgroup and database; results as Arrow tables."""

    def __init__(
        self, database: str, workgroup: str, session: Any = None, scan: Scan | None = None
    ) -> None:
        """`scan` bounds every question to some `dt` partitions, as LocalAthena's `days`: the
        question is sent with the views it reads inlined over that scan."""
        self.database = database
        self.workgroup = workgroup
        self.session = session
        self.scan = scan
        self.views: list[View] = load_views()

    def query(self, sql: str) -> pa.Table:
        import awswrangler as wr

        if self.scan is not None:
            sql = inline(sql, self.views, self.columns(REQUESTS_TABLE), self.scan)

        try:
            frame = wr.athena.read_sql_query(
                sql,
                database=self.database,
                workgroup=self.workgroup,
                ctas_approach=False,
                boto3_session=self.session,
            )
        except Exception as exc:  # awswrangler wraps Athena failures in its own types
            raise AthenaError(f"Athena query failed: {exc}") from exc
        return pa.Table.from_pandas(frame, preserve_index=False)

    def columns(self, table: str) -> list[str]:
        import awswrangler as wr

        types = wr.catalog.get_table_types(
            database=self.database, table=table, boto3_session=self.session
        )
        if types is None:
            raise AthenaError(f"no table or view {table} in Glue database {self.database}")
        return list(types)

    def close(self) -> None:
        """Nothing to release: every query is its own Athena execution."""
