"""`seslake demo`: realistic SES traffic through the real handlers, in moto, answered by the views.

Stages: generate traffic (seeded) -> stand up the stack's resources in moto from template.yaml
-> SES records published to the SNS topic and drained from the SQS queue into ingest_sns ->
a Firehose-style gzip object under the raw prefix into ingest_s3 -> internal data through
load_internal -> the athena/views on DuckDB over the Parquet that landed in (moto) S3 -> the
answers, a self-check against the generator's truth, and an HTML report.
"""

from __future__ import annotations

import gzip
import io
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from seslake.lake import S3Lake, local_copy
from seslake.schema import EVENTS_TABLE, REQUESTS_TABLE

from ..engines.local import LocalAthena
from ..output import render
from ..questions import quote
from ..stack import REGION, LocalContext, LocalStack, environment, load_handler, stand_up
from .traffic import FLAGS, Traffic, generate

#: SES records that take the whole moto path (SNS publish, SQS receive and delete). moto's SNS
#: and SQS cost milliseconds per message and slow down as a queue grows, so the rest of the SNS
#: traffic reaches the handler in the very SQS event shape that path produces.
THROUGH_MOTO = 1_000
#: Records held in flight from moto's queue before one handler call (a batching window).
MOTO_BATCH = 200
#: Share of the records that arrive as a Firehose object instead of through SNS.
FIREHOSE_SHARE = 0.1


@dataclass
class Check:
    name: str
    expected: Any
    got: Any

    @property
    def ok(self) -> bool:
        return bool(self.expected == self.got)


@dataclass
class DemoResult:
    out: Path
    report: Path
    lake: Path | None
    checks: list[Check]
    timings: dict[str, float] = field(default_factory=dict)
    events: int = 0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


class _Stages:
    """Wall time per stage, and a progress bar per stage on stderr (when it is a terminal)."""

    def __init__(self, progress: bool) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        bar: Any = None
        if self.progress:
            try:
                from tqdm import tqdm

                bar = tqdm(
                    total=total,
                    desc=f"{name:<22}",
                    file=sys.stderr,
                    leave=True,
                    disable=None,
                    unit="",
                    mininterval=0.3,
                )
            except ImportError:
                bar = None
        started = time.perf_counter()
        try:
            yield bar.update if bar is not None else (lambda n: None)
        finally:
            self.timings[name] = time.perf_counter() - started
            if bar is not None:
                bar.close()


def _aws_environment(stack: LocalStack) -> dict[str, str | None]:
    env: dict[str, str | None] = dict(stack.function_environment("IngestSnsFunction"))
    env.update(stack.function_environment("LoadInternalFunction"))
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    return env


def _call(handler: Any, event: dict[str, Any]) -> Any:
    """Invoke a handler as Lambda would; its log and metric lines stay out of the demo's output
    (Powertools writes them to stdout, where CloudWatch would collect them)."""
    with redirect_stdout(io.StringIO()):
        return handler.lambda_handler(event, LocalContext("seslake-demo"))


def _sqs_record(body: bytes, number: int, queue_arn: str) -> dict[str, Any]:
    """One SQS Lambda record as raw message delivery from SNS produces it."""
    return {
        "messageId": f"demo-{number:08d}",
        "receiptHandle": f"demo-{number}",
        "body": body.decode(),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764400000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1764400000000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _batch_size(stack: LocalStack) -> int:
    events = stack.template["Resources"]["IngestSnsFunction"]["Properties"]["Events"]
    return int(events["Queue"]["Properties"]["BatchSize"])


def _ingest_sns(
    stack: LocalStack, bodies: list[bytes], tick: Callable[[int], None], through_moto: int
) -> int:
    """The SNS share: the first records through moto's SNS and SQS, the rest as SQS batches."""
    import boto3

    handler = load_handler("ingest_sns")
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic, queue = stack.physical["EventsTopic"], stack.physical["EventsQueue"]
    queue_arn = stack.attributes[("EventsQueue", "Arn")]
    failures = 0
    head, rest = bodies[:through_moto], bodies[through_moto:]
    for window in range(0, len(head), MOTO_BATCH):
        records: list[dict[str, Any]] = []
        for start in range(window, min(window + MOTO_BATCH, len(head)), 10):
            chunk = head[start : start + 10]
            sns.publish_batch(
                TopicArn=topic,
                PublishBatchRequestEntries=[
                    {"Id": str(i), "Message": body.decode()} for i, body in enumerate(chunk)
                ],
            )
            wanted = len(records) + len(chunk)
            while len(records) < wanted:
                got = sqs.receive_message(
                    QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"]
                ).get("Messages", [])
                if not got:
                    break
                records += [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": queue_arn,
                        "awsRegion": REGION,
                    }
                    for m in got
                ]
        response = _call(handler, {"Records": records})
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        failures += len(failed)
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                    for i, r in enumerate(done[start : start + 10])
                ],
            )
        tick(len(records))
    size = _batch_size(stack)
    for start in range(0, len(rest), size):
        chunk = rest[start : start + size]
        records = [_sqs_record(body, start + i, queue_arn) for i, body in enumerate(chunk)]
        response = _call(handler, {"Records": records})
        failures += len(response["batchItemFailures"])
        tick(len(chunk))
    return failures


#: Lines a real stream can hold besides SES records; each must be quarantined with its reason.
BAD_FIREHOSE_LINES = (
    b'{"eventType":"Delivery","mail":{"timestamp":"2026-11-05T10:00:00.000Z","messageId":"cut-',
    b"this line is not JSON",
    b'{"notificationType":"Received","mail":{"messageId":"inbound-1"},"receipt":{}}',
)


def _ingest_firehose(stack: LocalStack, bodies: list[bytes]) -> int:
    """The Firehose share: one gzip object of newline-delimited records under the raw prefix,
    with a few bad lines among them; how many payloads ingest_s3 quarantined."""
    import boto3

    bucket = stack.physical["LakeBucket"]
    raw_prefix = stack.parameters["RawPrefix"]
    key = f"{raw_prefix}/2026/11/09/10/seslake-firehose-1-2026-11-09-10-00-00-demo.gz"
    lines = list(bodies)
    for number, bad in enumerate(BAD_FIREHOSE_LINES, start=1):  # apart, so each is its own
        lines.insert(len(lines) * number // (len(BAD_FIREHOSE_LINES) + 1), bad)
    data = gzip.compress(b"\n".join(lines) + b"\n")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": len(data), "eTag": "demo"},
                },
            }
        ]
    }
    _call(load_handler("ingest_s3"), event)
    lake = S3Lake(bucket, stack.parameters["LakePrefix"], boto3.client("s3"))
    entries = 0
    for key, _ in lake.list_keys("quarantine/"):
        if key.endswith(".jsonl") and not key.startswith("quarantine/ses_requests/"):
            entries += sum(1 for line in lake.get_bytes(key).splitlines() if line.strip())
    return entries


def _load_internal(stack: LocalStack, traffic: Traffic) -> dict[str, Any]:
    import csv

    import boto3

    bucket = stack.physical["LakeBucket"]
    key = f"{stack.parameters['InternalPrefix']}/requests.csv"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(traffic.requests[0]))
    writer.writeheader()
    writer.writerows(traffic.requests)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=text.getvalue().encode())
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": key, "size": 0, "eTag": "demo"},
                },
            }
        ]
    }
    result: dict[str, Any] = _call(load_handler("load_internal"), event)
    return result


def _rows(engine: LocalAthena, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = engine.query(sql).to_pylist()
    return rows


def self_check(engine: LocalAthena, traffic: Traffic) -> list[Check]:
    """Every count the views report, against what the generator knows happened."""
    truth = traffic.truth
    checks = [
        Check(
            "ses_events rows (duplicates included)",
            truth.published_rows,
            _rows(engine, "select count(*) as n from ses_events")[0]["n"],
        ),
        Check(
            "ses_events_unique rows",
            truth.unique_events,
            _rows(engine, "select count(*) as n from ses_events_unique")[0]["n"],
        ),
        Check(
            "opened_not_clicked pairs",
            truth.opened_not_clicked(),
            _rows(engine, "select count(*) as n from opened_not_clicked")[0]["n"],
        ),
    ]
    measures = ("requested", *FLAGS)
    got = {r["region"]: r for r in _rows(engine, "select * from summary_by_region")}
    for region, expected in sorted(truth.by_region().items(), key=lambda kv: str(kv[0])):
        row = got.get(region, {})
        checks.append(
            Check(f"summary_by_region[{region}]", expected, {m: row.get(m) for m in measures})
        )
    days = {str(r["day"]): r for r in _rows(engine, "select * from deliverability_daily")}
    for day, expected in sorted(truth.by_day().items()):
        row = days.get(day, {})
        checks.append(
            Check(f"deliverability_daily[{day}]", expected, {m: row.get(m) for m in expected})
        )
    for column, expected_by in (
        ("mailbox_provider", truth.by_provider()),
        ("tenant", truth.by_tenant()),
    ):
        sql = (
            f"select {column} as cohort, count_if(is_sent) as sent, "
            "count_if(is_human_opened) as human_opened, count_if(is_suppressed) as suppressed "
            f"from message_status group by {column}"
        )
        got_by = {r["cohort"]: r for r in _rows(engine, sql)}
        for cohort, expected in sorted(expected_by.items(), key=lambda kv: str(kv[0])):
            row = got_by.get(cohort, {})
            checks.append(
                Check(f"by {column}[{cohort}]", expected, {m: row.get(m) for m in expected})
            )
    return checks


def _interesting_pair(engine: LocalAthena) -> tuple[str, str] | None:
    rows = _rows(
        engine,
        """
        select message_id, recipient
        from message_status
        where delay_count > 0 and open_count > 1 and click_count > 0
        order by message_id limit 1""",
    ) or _rows(
        engine,
        """
        select message_id, recipient from message_status
        order by open_count + click_count + delay_count desc, message_id limit 1""",
    )
    return (rows[0]["message_id"], rows[0]["recipient"]) if rows else None


def run_demo(
    messages: int = 10_000,
    seed: int = 1,
    out: Path = Path("demo"),
    keep: bool = False,
    progress: bool = True,
    write: Callable[[str], Any] = sys.stdout.write,
    all_through_moto: bool = False,
) -> DemoResult:
    """The whole demo; prints its answers through `write` and returns the checks.

    `all_through_moto` sends every SNS record through moto's SNS and SQS (minutes, not seconds).
    """
    from moto import mock_aws

    from .report import write_report

    stages = _Stages(progress)
    out.mkdir(parents=True, exist_ok=True)
    lake_dir = out / "lake"
    if lake_dir.exists():
        shutil.rmtree(lake_dir)
    with stages.stage("generate traffic"):
        traffic = generate(messages, seed)
    bodies = [orjson.dumps(r) for r in traffic.records]
    every = round(1 / FIREHOSE_SHARE)
    via_firehose = bodies[::every]
    via_sns = [b for i, b in enumerate(bodies) if i % every]

    with mock_aws():
        with stages.stage("stand up stack (moto)"):
            stack = stand_up()
        with environment(_aws_environment(stack)):
            with stages.stage("SNS -> SQS -> ingest_sns", total=len(via_sns)) as tick:
                through = len(via_sns) if all_through_moto else THROUGH_MOTO
                failures = _ingest_sns(stack, via_sns, tick, through)
            with stages.stage("Firehose -> ingest_s3"):
                quarantined = _ingest_firehose(stack, via_firehose)
            with stages.stage("load_internal"):
                loaded = _load_internal(stack, traffic)
            with stages.stage("copy lake from S3"):
                local_copy(
                    f"s3://{stack.physical['LakeBucket']}/{stack.parameters['LakePrefix']}",
                    lake_dir,
                    (EVENTS_TABLE, REQUESTS_TABLE),
                )
    with stages.stage("views on DuckDB"):
        engine = LocalAthena(lake_dir, materialize=True)
        checks = self_check(engine, traffic)
        checks.append(Check("ingest failures", 0, failures))
        checks.append(Check("bad Firehose lines quarantined", len(BAD_FIREHOSE_LINES), quarantined))
        checks.append(Check("internal rows rejected", 0, loaded["objects"][0]["rejected"]))
        answers = _answers(engine)
    with stages.stage("report"):
        report = write_report(engine, out / "report.html", answers["pair"], answers.get("journey"))
    engine.close()
    _print(write, traffic, answers, checks, stages.timings, report, len(bodies))
    if not keep:
        shutil.rmtree(lake_dir)
    return DemoResult(out, report, lake_dir if keep else None, checks, stages.timings, len(bodies))


def _answers(engine: LocalAthena) -> dict[str, Any]:
    pair = _interesting_pair(engine)
    answers: dict[str, Any] = {
        "summary": engine.query("""
            select region, requested, sent, delivered, hard_bounced, suppressed, complained,
                   opened, human_opened, clicked, human_clicked, delivery_rate, bounce_rate,
                   open_rate, human_open_rate, click_rate, human_click_rate
            from summary_by_region order by requested desc"""),
        "daily": engine.query("""
            select day, sent, delivered, bounced, reputation_bounced, complained, bounce_rate,
                   hard_bounce_rate, complaint_rate, reputation_status
            from deliverability_daily order by day"""),
        "onc_count": _rows(engine, "select count(*) as n from opened_not_clicked")[0]["n"],
        "onc": engine.query("""
            select message_id, recipient, first_human_opened_at, open_count, region, email_type
            from opened_not_clicked order by open_count desc, message_id limit 5"""),
        "pair": pair,
    }
    if pair:
        answers["journey"] = engine.query(f"""
            select step, event_type, event_at, seconds_since_sent, detail
            from recipient_journey
            where message_id = {quote(pair[0])} and recipient = {quote(pair[1])}
            order by step""")
    return answers


def _print(
    write: Callable[[str], Any],
    traffic: Traffic,
    answers: dict[str, Any],
    checks: list[Check],
    timings: dict[str, float],
    report: Path,
    records: int,
) -> None:
    write(
        f"\nseslake demo: {traffic.messages:,} messages, {len(traffic.truth.pairs):,} "
        f"(message, recipient) pairs, {records:,} SES records published\n"
    )
    write("\n== How did each region do? (summary_by_region)\n")
    write(render(answers["summary"], "table"))
    write("\n== Daily deliverability against the SES thresholds (deliverability_daily)\n")
    write(render(answers["daily"], "table"))
    write(
        f"\n== Who opened but did not click? (opened_not_clicked): {answers['onc_count']:,} "
        "recipients; the most engaged:\n"
    )
    write(render(answers["onc"], "table"))
    if answers["pair"]:
        message_id, recipient = answers["pair"]
        write(f"\n== What happened to {recipient}, message {message_id}? (recipient_journey)\n")
        write(render(answers["journey"], "table"))
    failed = [c for c in checks if not c.ok]
    write(
        f"\n== Self-check: {len(checks) - len(failed)} of {len(checks)} counts match the "
        "generator's truth\n"
    )
    for check in failed:
        write(f"  MISMATCH {check.name}: expected {check.expected}, views say {check.got}\n")
    total = sum(timings.values())
    write("\n== Time per stage\n")
    for name, seconds in timings.items():
        write(f"  {name:<26} {seconds:6.1f} s\n")
    write(f"  {'total':<26} {total:6.1f} s  ({records / total:,.0f} SES records/s)\n")
    write(f"\nReport: {report}\n")
