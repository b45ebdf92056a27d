"""Recognize every envelope SES events travel in and take the SES records out of it.

Auto-detected, no flags: Lambda events from SNS and SQS, the SNS notification JSON (HTTP/SQS
form), EventBridge events, JSON arrays, and bare SES records of either format. Envelopes nest
(an SQS body holding an SNS notification holding an SES record) and are peeled recursively.

Each Lambda record (an SQS message, an SNS delivery) is a unit of its own: it has its own
origin, its own identity for retries, and its own original text to quarantine if it is bad.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

#: EventBridge detail-type of SES email events -> the eventType of the record in `detail`.
EVENTBRIDGE_DETAIL_TYPES: dict[str, str] = {
    "Email Sent": "Send",
    "Email Delivered": "Delivery",
    "Email Bounced": "Bounce",
    "Email Complaint Received": "Complaint",
    "Email Rejected": "Reject",
    "Email Opened": "Open",
    "Email Clicked": "Click",
    "Email Rendering Failed": "Rendering Failure",
    "Email Delivery Delayed": "DeliveryDelay",
    "Email Subscribed": "Subscription",
}
_SNS_TYPES = {"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"}
_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Leaf:
    """An SES record found in a payload (`error` is None), or why a unit holds none.

    `unit` is the original text of the smallest retryable unit it came from (an SQS body, an
    SNS message, a line of a file): what goes to quarantine. `origin` is where it came from,
    `identity` what names the output files (stable across retries)."""

    record: dict[str, Any] | None
    origin: str
    identity: str
    unit: bytes | str
    error: str | None = None
    raw: str | None = None  # the record's own one-line JSON text, when it arrived as one


def unwrap(
    value: object, unit: bytes | str, origin: str, identity: str, text: bytes | str | None = None
) -> Iterator[Leaf]:
    """Every SES record (or failure) in a parsed JSON value; `text` is the value's own JSON."""
    yield from _unwrap(value, unit, origin, identity, 0, text)


def _unwrap(
    value: object,
    unit: bytes | str,
    origin: str,
    identity: str,
    depth: int,
    text: bytes | str | None = None,
) -> Iterator[Leaf]:
    if depth > _MAX_DEPTH:
        yield Leaf(None, origin, identity, unit, "envelopes nested too deep")
        return
    if isinstance(value, list):
        if not all(isinstance(item, dict) for item in value):
            yield Leaf(None, origin, identity, unit, "JSON array of non-objects, not SES events")
            return
        for item in value:
            yield from _unwrap(item, unit, origin, identity, depth + 1)
        return
    if not isinstance(value, dict):
        yield Leaf(
            None,
            origin,
            identity,
            unit,
            f"JSON {type(value).__name__}, not an SES event or envelope",
        )
        return
    if "eventType" in value or "notificationType" in value:
        yield Leaf(value, origin, identity, unit, raw=_one_line(text))
    elif isinstance(value.get("Records"), list):
        yield from _lambda_records(value["Records"], origin, identity, depth)
    elif value.get("Type") in _SNS_TYPES and "Message" in value:
        yield from _sns_notification(value, unit, origin, identity, depth)
    elif "detail-type" in value and "detail" in value:
        yield from _eventbridge(value, unit, origin, identity, depth)
    else:
        keys = ", ".join(sorted(value)[:8])
        yield Leaf(
            None,
            origin,
            identity,
            unit,
            f"JSON object is not an SES event or a known envelope (keys: {keys})",
        )


def _parse_inner(
    text: object, what: str, unit: bytes | str, origin: str, identity: str, depth: int
) -> Iterator[Leaf]:
    if not isinstance(text, str):
        yield Leaf(None, origin, identity, unit, f"{what} is not a string")
        return
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield Leaf(None, origin, identity, unit, f"{what} is not JSON: {exc}")
        return
    yield from _unwrap(inner, unit, origin, identity, depth + 1, text)


def _one_line(text: bytes | str | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        if b"\n" in text:
            return None
        try:
            return text.decode()
        except UnicodeDecodeError:
            return None
    return None if "\n" in text else text


def _lambda_records(records: list[Any], origin: str, identity: str, depth: int) -> Iterator[Leaf]:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            text = orjson.dumps(record)
            yield Leaf(
                None, f"{origin}#{i}", f"{identity}#{i}", text, "Lambda record is not an object"
            )
            continue
        sns = record.get("Sns")
        if isinstance(sns, dict):
            unit = (f"sns:{sns.get('MessageId', i)}", sns.get("Message"), "SNS Message")
        elif "body" in record:
            unit = (f"sqs:{record.get('messageId', i)}", record["body"], "SQS body")
        else:
            unit = None
        if unit is not None:
            unit_origin, payload, what = unit
            original = payload if isinstance(payload, str) else orjson.dumps(record)
            yield from _parse_inner(payload, what, original, unit_origin, unit_origin, depth)
        elif "s3" in record:
            yield Leaf(
                None,
                origin,
                identity,
                orjson.dumps(record),
                "an S3 event notification, not an SES event: objects under the raw "
                "prefix are read by the ingest_s3 function",
            )
        else:
            source = record.get("eventSource") or record.get("EventSource")
            yield Leaf(
                None,
                origin,
                identity,
                orjson.dumps(record),
                f"unsupported Lambda event record (eventSource {source!r})",
            )


def _sns_notification(
    value: dict[str, Any], unit: bytes | str, origin: str, identity: str, depth: int
) -> Iterator[Leaf]:
    kind = value["Type"]
    if kind != "Notification":
        yield Leaf(
            None,
            origin,
            identity,
            unit,
            f"not an SES event: an SNS {kind} message for {value.get('TopicArn')}",
        )
        return
    yield from _parse_inner(value["Message"], "SNS Message", unit, origin, identity, depth)


def _eventbridge(
    value: dict[str, Any], unit: bytes | str, origin: str, identity: str, depth: int
) -> Iterator[Leaf]:
    detail_type = value.get("detail-type")
    if value.get("source") != "aws.ses":
        yield Leaf(
            None,
            origin,
            identity,
            unit,
            f"not an SES event: EventBridge event from {value.get('source')!r}",
        )
        return
    detail = value.get("detail")
    if not isinstance(detail, dict):
        yield Leaf(None, origin, identity, unit, "EventBridge event without a detail object")
        return
    if "eventType" not in detail and "notificationType" not in detail:
        event_type = EVENTBRIDGE_DETAIL_TYPES.get(str(detail_type))
        if event_type is None:
            yield Leaf(
                None,
                origin,
                identity,
                unit,
                f"not an SES sending event: EventBridge detail-type {detail_type!r}",
            )
            return
        detail = {"eventType": event_type, **detail}
    yield from _unwrap(detail, unit, origin, identity, depth + 1)
