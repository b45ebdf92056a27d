"""`seslake demo` end to end (small), its generator, and its HTML report in headless Chromium."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from seslake_cli.demo.run import DemoResult, run_demo
from seslake_cli.demo.traffic import default_start, generate
from seslake_cli.stack import load_template, stand_up

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, str]:
    out = io.StringIO()
    result = run_demo(
        messages=400,
        seed=3,
        out=tmp_path_factory.mktemp("demo"),
        keep=True,
        progress=False,
        write=out.write,
    )
    return result, out.getvalue()


def test_demo_answers_match_the_generators_truth(demo: tuple[DemoResult, str]) -> None:
    result, printed = demo
    assert [c.name for c in result.checks if not c.ok] == []
    names = [c.name for c in result.checks]
    assert "ses_events_unique rows" in names and "opened_not_clicked pairs" in names
    assert any(n.startswith("summary_by_region[eu]") for n in names)
    first_day = default_start().date().isoformat()  # the traffic's first day of sends
    assert any(n.startswith(f"deliverability_daily[{first_day}") for n in names)
    for heading in (
        "How did each region do?",
        "Daily deliverability",
        "opened but did not click",
        "What happened to",
        "Self-check: ",
    ):
        assert heading in printed
    assert re.search(r"Self-check: (\d+) of \1 counts match", printed)


def test_demo_keeps_a_queryable_lake(demo: tuple[DemoResult, str]) -> None:
    result, _ = demo
    assert result.lake is not None
    files = sorted((result.lake / "ses_events").rglob("*.parquet"))
    assert files and pq.read_table(files[0]).num_rows > 0
    assert list((result.lake / "ses_requests").glob("*.parquet"))


def test_same_seed_same_traffic_other_seed_other_traffic() -> None:
    first, again, other = generate(200, seed=5), generate(200, seed=5), generate(200, seed=6)
    assert orjson.dumps(first.records) == orjson.dumps(again.records)
    assert first.requests == again.requests
    assert orjson.dumps(first.records) != orjson.dumps(other.records)


def test_traffic_holds_the_awkward_cases() -> None:
    traffic = generate(3000, seed=1)
    pairs = list(traffic.truth.pairs.values())
    kinds = {r["eventType"] for r in traffic.records}
    assert kinds == {
        "Send",
        "Delivery",
        "Bounce",
        "Complaint",
        "DeliveryDelay",
        "Open",
        "Click",
        "Reject",
        "Rendering Failure",
        "Subscription",
    }
    assert any(p.events["click"] and not p.events["open"] for p in pairs)  # click, no open
    assert any(p.transient and p.events["delivery"] for p in pairs)  # soft bounce, delivered
    assert any(p.hard and p.events["delivery"] for p in pairs)  # delivered, then bounced
    assert any(p.events["open"] > 1 for p in pairs)
    duplicates = len(traffic.records) - len({orjson.dumps(r) for r in traffic.records})
    assert 0.005 < duplicates / len(traffic.records) < 0.02  # about 1% delivered twice
    assert len({p.recipient for p in pairs}) > 0.8 * 3000  # about as many recipients as messages
    sent_days = {p.sent_at.date() for p in pairs}
    assert len(sent_days) == 7


def test_stack_resources_come_from_the_template(moto_aws: None) -> None:
    import boto3

    stack = stand_up(load_template())
    assert stack.physical["LakeBucket"] == "seslake-123456789012-us-east-1"
    queue = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["EventsQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert '"maxReceiveCount": 10' in queue["RedrivePolicy"]
    topic = boto3.client("sns").get_topic_attributes(TopicArn=stack.physical["EventsTopic"])
    assert topic["Attributes"]["KmsMasterKeyId"] == stack.attributes[("TopicKey", "Arn")]
    assert queue["VisibilityTimeout"] == "1800"
    (subscription,) = boto3.client("sns").list_subscriptions()["Subscriptions"]
    assert subscription["Protocol"] == "sqs"
    attributes = boto3.client("sns").get_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"]
    )["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    table = boto3.client("glue").get_table(DatabaseName="seslake", Name="ses_events")["Table"]
    assert table["Parameters"]["projection.enabled"] == "true"
    assert table["Parameters"]["storage.location.template"] == (
        "s3://seslake-123456789012-us-east-1/lake/ses_events/event_type=${event_type}/dt=${dt}/"
    )


def _chromium(*args: str, user_data: Path) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={user_data}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
def test_report_draws_every_chart_in_headless_chromium(
    demo: tuple[DemoResult, str], tmp_path: Path
) -> None:
    result, _ = demo
    assert CHROMIUM is not None, "CI must have chromium: apt-get install chromium"
    text = result.report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # self-contained
    dom = _chromium("--dump-dom", result.report.as_uri(), user_data=tmp_path / "a")
    assert 'data-charts-drawn="4"' in dom
    for chart, mark in (
        ("funnel", "<rect"),
        ("daily", "<rect"),
        ("rates", "<polyline"),
        ("journey", "<circle"),
    ):
        block = dom.split(f'id="{chart}"', 1)[1].split("</div>", 1)[0]
        assert "<svg" in block and block.count(mark) >= 2, chart
    screenshot = tmp_path / "report.png"
    _chromium(
        "--window-size=1000,2400",
        f"--screenshot={screenshot}",
        result.report.as_uri(),
        user_data=tmp_path / "b",
    )
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # drawn, not blank


def test_demo_with_every_record_through_moto_sns_and_sqs(tmp_path: Path) -> None:
    result = run_demo(
        messages=80,
        seed=9,
        out=tmp_path,
        progress=False,
        write=io.StringIO().write,
        all_through_moto=True,
    )
    assert [c.name for c in result.checks if not c.ok] == []
    assert result.events > 150
