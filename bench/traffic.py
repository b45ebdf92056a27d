"""Realistic SES event traffic for benchmarks: SNS-wrapped records built from the AWS samples."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import orjson

SAMPLES = Path(__file__).resolve().parent.parent / "events" / "ses"
#: Share of each event type in a realistic stream (mostly sends, deliveries and opens).
MIX = {
    "send": 0.30,
    "delivery": 0.29,
    "open": 0.20,
    "click": 0.08,
    "bounce": 0.04,
    "delivery_delay": 0.03,
    "complaint": 0.02,
    "subscription": 0.02,
    "reject": 0.01,
    "rendering_failure": 0.01,
}
FILES = {
    "send": "send.json",
    "delivery": "delivery.json",
    "open": "open.json",
    "click": "click.json",
    "bounce": "bounce-permanent.json",
    "delivery_delay": "deliverydelay.json",
    "complaint": "complaint.json",
    "subscription": "subscription.json",
    "reject": "reject.json",
    "rendering_failure": "rendering-failure.json",
}


def ses_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n SES event-publishing records with fresh ids, recipients and timestamps."""
    rng = random.Random(seed)
    templates = {
        t: orjson.loads((SAMPLES / "publishing" / f).read_bytes()) for t, f in FILES.items()
    }
    types = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    out = []
    for i, t in enumerate(types):
        rec = orjson.loads(orjson.dumps(templates[t]))
        mail = rec["mail"]
        address = f"user{rng.randrange(n)}@example.com"
        mail["messageId"] = f"0100018{uuid.UUID(int=rng.getrandbits(128)).hex}-000000"
        mail["destination"] = [address]
        day = 1 + i * 28 // max(n, 1)
        mail["timestamp"] = (
            f"2026-11-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
        )
        for key in (
            "bounce",
            "complaint",
            "delivery",
            "open",
            "click",
            "deliveryDelay",
            "subscription",
        ):
            if key in rec:
                rec[key]["timestamp"] = mail["timestamp"]
        if "delivery" in rec:
            rec["delivery"]["recipients"] = [address]
        if "bounce" in rec:
            rec["bounce"]["bouncedRecipients"][0]["emailAddress"] = address
        if "complaint" in rec:
            rec["complaint"]["complainedRecipients"][0]["emailAddress"] = address
        if "deliveryDelay" in rec:
            rec["deliveryDelay"]["delayedRecipients"][0]["emailAddress"] = address
        out.append(rec)
    return out


def sns_envelope(record: dict[str, Any], rng: random.Random) -> bytes:
    """The SNS notification JSON SES's topic delivers to SQS (raw delivery off)."""
    return orjson.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.UUID(int=rng.getrandbits(128))),
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
            "Message": orjson.dumps(record).decode(),
            "Timestamp": record["mail"]["timestamp"],
            "SignatureVersion": "1",
            "Signature": "EXAMPLE" * 24,
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        }
    )


def sns_payloads(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed + 1)
    return [sns_envelope(r, rng) for r in ses_records(n, seed)]


def firehose_lines(n: int, seed: int = 11) -> list[bytes]:
    """n bare SES records as a Firehose object holds them: compact JSON, one per line."""
    return [orjson.dumps(r) for r in ses_records(n, seed)]
