"""Recognize every envelope SES events travel in and take the SES records out of it.

Auto-detected, no flags: Lambda events from SNS and SQS, the SNS notification JSON (HTTP/SQS
form), EventBridge events, JSON arrays, and bare SES records of either format. Envelopes nest
(an SQS body holding an SNS notification holding an SES record) and are peeled recursively.

Each Lambda record (an SQS message, an SNS delivery) is a unit of its own: it has its own
origin, its own identity for retries, and its own original text to quarantine if it is bad.
"""

from __future__ import annotations

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


@dataclass(slots=True)
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
) -> list[Leaf]:
    """Every SES record (or failure) in a parsed JSON value; `text` is the value's own JSON."""
    out: list[Leaf] = []
    _unwrap(value, unit, origin, identity, 0, out, text)
    return out


# The walkers below append to `out` rather than yield: one SQS body is two or three envelopes
# deep, and a chain of generators costs more than the parsing itself.


def _unwrap(
    value: object,
    unit: bytes | str,
    origin: str,
    identity: str,
    depth: int,
    out: list[Leaf],
    text: bytes | str | None = None,
) -> None:
    if depth > _MAX_DEPTH:
        out.append(Leaf(None, origin, identity, unit, "envelopes nested too deep"))
        return
    if isinstance(value, list):
        if not all(isinstance(item, dict) for item in value):
            out.append(
                Leaf(None, origin, identity, unit, "JSON array of non-objects, not SES events")
            )
            return
        for item in value:
            _unwrap(item, unit, origin, identity, depth + 1, out)
        return
    if not isinstance(value, dict):
        reason = f"JSON {type(value).__name__}, not an SES event or envelope"
        out.append(Leaf(None, origin, identity, unit, reason))
        return
    if "eventType" in value or "notificationType" in value:
        out.append(Leaf(value, origin, identity, unit, raw=_one_line(text)))
    elif isinstance(value.get("Records"), list):
        _lambda_records(value["Records"], origin, identity, depth, out)
    elif _is_sns(value.get("Type")) and "Message" in value:
        _sns_notification(value, unit, origin, identity, depth, out)
    elif "detail-type" in value and "detail" in value:
        _eventbridge(value, unit, origin, identity, depth, out)
    else:
        keys = ", ".join(sorted(value)[:8])
        reason = f"JSON object is not an SES event or a known envelope (keys: {keys})"
        out.append(Leaf(None, origin, identity, unit, reason))


def _is_sns(kind: object) -> bool:
    return isinstance(kind, str) and kind in _SNS_TYPES


def _parse_inner(
    text: object,
    what: str,
    unit: bytes | str,
    origin: str,
    identity: str,
    depth: int,
    out: list[Leaf],
) -> None:
    if not isinstance(text, str):
        out.append(Leaf(None, origin, identity, unit, f"{what} is not a string"))
        return
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        out.append(Leaf(None, origin, identity, unit, f"{what} is not JSON: {exc}"))
        return
    _unwrap(inner, unit, origin, identity, depth + 1, out, text)


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


#: What SES publishes to a topic it is newly given as an event destination
#: (https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-sns.html).
_TOPIC_VALIDATED = "Successfully validated SNS topic"

#: The identity of a Lambda event handed to a function: its records are known by their own SQS
#: or SNS message ids alone, what a retry of the same message repeats (and what the SQS batch
#: response names). Anywhere else (a Lambda event saved in a file) the file's identity comes
#: first, so two files holding the same sample event never share an output.
LAMBDA_EVENT = "lambda-event"


def record_identity(outer: str, unit: str) -> str:
    """The identity of a record inside a Lambda event whose own identity is `outer`."""
    return unit if outer == LAMBDA_EVENT else f"{outer} {unit}"


def _lambda_records(
    records: list[Any], origin: str, identity: str, depth: int, out: list[Leaf]
) -> None:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            text = orjson.dumps(record)
            out.append(
                Leaf(
                    None,
                    f"{origin}#{i}",
                    f"{identity}#{i}",
                    text,
                    "Lambda record is not an object",
                )
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
            unit_identity = record_identity(identity, unit_origin)
            _parse_inner(payload, what, original, unit_origin, unit_identity, depth, out)
        elif "s3" in record:
            reason = (
                "an S3 event notification, not an SES event: objects under the raw "
                "prefix are read by the ingest_s3 function"
            )
            out.append(Leaf(None, origin, identity, orjson.dumps(record), reason))
        else:
            source = record.get("eventSource") or record.get("EventSource")
            what = "an SES email receiving record" if source == "aws:ses" else "a Lambda record"
            reason = f"not an SES sending event: {what} (eventSource {source!r})"
            out.append(Leaf(None, origin, identity, orjson.dumps(record), reason))


def _sns_notification(
    value: dict[str, Any],
    unit: bytes | str,
    origin: str,
    identity: str,
    depth: int,
    out: list[Leaf],
) -> None:
    kind = value["Type"]
    if kind != "Notification":
        reason = f"not an SES event: an SNS {kind} message for {value.get('TopicArn')}"
        out.append(Leaf(None, origin, identity, unit, reason))
        return
    message = value["Message"]
    if isinstance(message, str) and message.startswith(_TOPIC_VALIDATED):
        reason = (
            "not an SES event: SES's test message to a topic newly set as an event destination"
            f" ({message.strip()!r})"
        )
        out.append(Leaf(None, origin, identity, unit, reason))
        return
    _parse_inner(message, "SNS Message", unit, origin, identity, depth, out)


def _eventbridge(
    value: dict[str, Any],
    unit: bytes | str,
    origin: str,
    identity: str,
    depth: int,
    out: list[Leaf],
) -> None:
    detail_type = value.get("detail-type")
    if value.get("source") != "aws.ses":
        reason = f"not an SES event: EventBridge event from {value.get('source')!r}"
        out.append(Leaf(None, origin, identity, unit, reason))
        return
    detail = value.get("detail")
    if not isinstance(detail, dict):
        out.append(Leaf(None, origin, identity, unit, "EventBridge event without a detail object"))
        return
    event_type = EVENTBRIDGE_DETAIL_TYPES.get(str(detail_type))
    if event_type is None:  # SES's own other events (CloudTrail API calls, ...) are not mail
        reason = f"not an SES sending event: EventBridge detail-type {detail_type!r}"
        out.append(Leaf(None, origin, identity, unit, reason))
        return
    if "eventType" not in detail and "notificationType" not in detail:
        detail = {"eventType": event_type, **detail}
    _unwrap(detail, unit, origin, identity, depth + 1, out)
