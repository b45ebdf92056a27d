"""The candidate native readers for the ingest core, side by side. A probe.

The ingest target (10x the naive baseline) leaves about 10 us per event for everything. This
measures, on the same 100,000 SNS-wrapped events as the ingest benchmark, what the two native
readers at hand take just to get the SES fields out of both JSON layers, with no
normalization and no Parquet:

- pyarrow's JSON reader: the SNS envelopes (explicit schema, `Message` only), then the
  messages joined into newline-delimited JSON (schema inferred);
- DuckDB's JSON functions over an Arrow column of the envelopes (`json_extract_string`, then
  `json_transform` into a struct of every field normalize reads), on all cores;
- orjson, both layers, for reference (the parse-only bound);
- msgspec (what the core now uses): the envelope with orjson, the SES record straight into its
  types (`seslake.records.decode_line`); and with the rows built from them
  (`seslake.typed.rows`);
- a sketch of a whole DuckDB pipeline (parse, part of the normalization, partitioned Parquet
  through COPY): a lower bound of what that route would cost.

Usage: python bench/columnar_probe.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from traffic import sns_payloads  # noqa: E402

#: The SES fields normalize reads, as a DuckDB json_transform structure.
_ADDRESSES = (
    '[{"emailAddress":"VARCHAR","action":"VARCHAR","status":"VARCHAR","diagnosticCode":"VARCHAR"}]'
)
_TAGS = "MAP(VARCHAR, VARCHAR[])"
STRUCTURE = {
    "eventType": "VARCHAR",
    "notificationType": "VARCHAR",
    "mail": {
        "timestamp": "VARCHAR",
        "messageId": "VARCHAR",
        "source": "VARCHAR",
        "sourceArn": "VARCHAR",
        "sourceIp": "VARCHAR",
        "callerIdentity": "VARCHAR",
        "sendingAccountId": "VARCHAR",
        "destination": ["VARCHAR"],
        "commonHeaders": {"from": ["VARCHAR"], "subject": "VARCHAR"},
        "tags": _TAGS,
    },
    "reject": {"reason": "VARCHAR"},
    "failure": {"errorMessage": "VARCHAR", "templateName": "VARCHAR"},
    "bounce": {
        "timestamp": "VARCHAR",
        "bounceType": "VARCHAR",
        "bounceSubType": "VARCHAR",
        "feedbackId": "VARCHAR",
        "reportingMTA": "VARCHAR",
        "remoteMtaIp": "VARCHAR",
        "bouncedRecipients": "ADDRESSES",
    },
    "complaint": {
        "timestamp": "VARCHAR",
        "arrivalDate": "VARCHAR",
        "complaintFeedbackType": "VARCHAR",
        "complaintSubType": "VARCHAR",
        "feedbackId": "VARCHAR",
        "userAgent": "VARCHAR",
        "complainedRecipients": "ADDRESSES",
    },
    "delivery": {
        "timestamp": "VARCHAR",
        "recipients": ["VARCHAR"],
        "smtpResponse": "VARCHAR",
        "processingTimeMillis": "BIGINT",
        "reportingMTA": "VARCHAR",
        "remoteMtaIp": "VARCHAR",
    },
    "deliveryDelay": {
        "timestamp": "VARCHAR",
        "delayType": "VARCHAR",
        "expirationTime": "VARCHAR",
        "reportingMTA": "VARCHAR",
        "delayedRecipients": "ADDRESSES",
    },
    "open": {"timestamp": "VARCHAR", "ipAddress": "VARCHAR", "userAgent": "VARCHAR"},
    "click": {
        "timestamp": "VARCHAR",
        "ipAddress": "VARCHAR",
        "userAgent": "VARCHAR",
        "link": "VARCHAR",
        "linkTags": _TAGS,
    },
    "subscription": {
        "timestamp": "VARCHAR",
        "contactList": "VARCHAR",
        "source": "VARCHAR",
        "newTopicPreferences": {
            "unsubscribeAll": "BOOLEAN",
            "topicSubscriptionStatus": [{"topicName": "VARCHAR", "subscriptionStatus": "VARCHAR"}],
        },
    },
}


def best_us(run: Callable[[], object], events: int, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    import gc

    import duckdb
    import pyarrow as pa
    import pyarrow.json as pj

    payloads = sns_payloads(args.events)
    n = len(payloads)
    gc.disable()  # as the core runs
    pa.array([0])  # pyarrow's first array imports pandas when it is installed: not timed

    def orjson_both() -> None:
        for payload in payloads:
            orjson.loads(orjson.loads(payload)["Message"])

    envelope_schema = pa.schema([("Message", pa.string())])
    outer_options = pj.ParseOptions(
        explicit_schema=envelope_schema, unexpected_field_behavior="ignore"
    )
    read_options = pj.ReadOptions(block_size=16 << 20)

    def pyarrow_both() -> None:
        envelopes = pj.read_json(
            pa.BufferReader(b"\n".join(payloads)),
            read_options=read_options,
            parse_options=outer_options,
        )
        messages = envelopes.column("Message").to_pylist()  # a message holds no raw newline
        pj.read_json(pa.BufferReader("\n".join(messages).encode()), read_options=read_options)

    structure = json.dumps(STRUCTURE).replace('"ADDRESSES"', _ADDRESSES).replace("'", "''")
    con = duckdb.connect()

    def duckdb_both() -> None:
        column = pa.array(payloads, pa.binary()).cast(pa.string())
        table = pa.Table.from_batches(  # batches let DuckDB scan on every core
            [pa.record_batch([column.slice(i, 8192)], ["p"]) for i in range(0, n, 8192)]
        )
        con.register("envelopes", table)
        con.sql(
            f"select json_transform(json_extract_string(p, '$.Message'), '{structure}') s "
            "from envelopes"
        ).to_arrow_table()
        con.unregister("envelopes")

    # A sketch of a whole DuckDB pipeline, to see where it would land: parse, a few of the
    # normalizations (type names, event time, one row per recipient, an md5 identity), and
    # partitioned zstd Parquet through COPY. Far from complete, so a lower bound of its cost.
    pipeline = f"""
        with parsed as (
            select json_extract_string(p, '$.Message') as raw,
                   json_transform(json_extract_string(p, '$.Message'), '{structure}') as s
            from envelopes),
        typed as (
            select raw, s,
                   replace(lower(coalesce(s.eventType, s.notificationType)), ' ', '_')
                       as event_type,
                   coalesce(s.delivery.timestamp, s.open.timestamp, s.click.timestamp,
                            s.bounce.timestamp, s.complaint.timestamp,
                            s.deliveryDelay.timestamp, s.subscription.timestamp,
                            s.mail.timestamp)::timestamptz as event_at,
                   case when s.delivery is not null then s.delivery.recipients
                        when s.bounce is not null
                            then list_transform(s.bounce.bouncedRecipients,
                                                lambda x: x.emailAddress)
                        else s.mail.destination end as recipients
            from parsed)
        select md5(concat_ws('|', s.mail.messageId, event_type, epoch_ms(event_at), r))
                   as event_id,
               s.mail.messageId as message_id,
               lower(trim(regexp_extract(r, '([^<>]*)>?\\s*$', 1))) as recipient,
               event_type, event_at, s.mail.timestamp::timestamptz as sent_at,
               s.mail.source as source, s.mail.commonHeaders.subject as subject,
               s.mail.destination as destination, s.mail.tags as tags,
               s.delivery.smtpResponse as smtp_response, s.click.link as link,
               s.click.linkTags as link_tags,
               coalesce(s.open.userAgent, s.click.userAgent) as user_agent,
               s.bounce.bounceType as bounce_type, raw,
               strftime(event_at, '%Y-%m-%d') as dt
        from typed, unnest(recipients) as u(r)"""

    def duckdb_pipeline() -> None:
        column = pa.array(payloads, pa.binary()).cast(pa.string())
        table = pa.Table.from_batches(
            [pa.record_batch([column.slice(i, 8192)], ["p"]) for i in range(0, n, 8192)]
        )
        con.register("envelopes", table)
        with tempfile.TemporaryDirectory() as out:
            con.sql(
                f"copy ({pipeline}) to '{out}' "
                "(format parquet, partition_by (event_type, dt), compression zstd)"
            )
        con.unregister("envelopes")

    from seslake.envelopes import sns_message
    from seslake.records import decode_line
    from seslake.typed import rows

    def msgspec_both() -> None:  # the envelope with orjson, the record into types
        for payload in payloads:
            decode_line(sns_message(orjson.loads(payload)) or "")

    def msgspec_rows() -> None:
        for payload in payloads:
            typed = decode_line(sns_message(orjson.loads(payload)) or "")
            assert typed is not None and rows(typed.record, "b", 0, typed.text) is not None

    report = {
        "events": n,
        "threads": con.sql("select current_setting('threads')").fetchall()[0][0],
        "orjson_us_per_event": round(best_us(orjson_both, n), 2),
        "msgspec_typed_us_per_event": round(best_us(msgspec_both, n), 2),
        "msgspec_typed_with_rows_us_per_event": round(best_us(msgspec_rows, n), 2),
        "pyarrow_json_us_per_event": round(best_us(pyarrow_both, n), 2),
        "duckdb_json_us_per_event": round(best_us(duckdb_both, n), 2),
        "duckdb_pipeline_sketch_us_per_event": round(best_us(duckdb_pipeline, n), 2),
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "columnar_probe.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
