"""Recognize every envelope SES events travel in and take the SES records out of it.

Auto-detected, no flags: Lambda events from SNS and SQS, the SNS notification JSON (HTTP/SQS
form), EventBridge events, JSON arrays, and bare SES records of either format. Envelopes nest
(an SQS body holding an SNS notification holding an SES record) and are peeled recursively.

Each Lambda record (an SQS message, an SNS delivery) is a unit of its own: it has its own
origin, its own identity for retries, and its own original text to quarantine if it is bad.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from seslake.records import SesRecord, decode_line
from seslake.schema import EVENTBRIDGE_DETAIL_TYPES

_SNS_TYPES = {"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"}
_MAX_DEPTH = 6


class Unit(NamedTuple):
    """The smallest retryable piece of input a record came from: an SQS body, an SNS message, a
    line of a file. `text` is its original bytes (what quarantine keeps), `origin` where it came
    from (for people), `identity` what names the output files it goes to: stable across
    retries, and for an SQS message its retry key (`sqs_retry_key`). (A NamedTuple: one is made
    per record, and a frozen dataclass costs several times as much to make.)"""

    text: bytes | str
    origin: str
    identity: str

    def item(self, index: int, text: bytes | str) -> Unit:
        """The `index`-th item of this unit, itself a unit (a record of a Lambda event)."""
        return Unit(text, f"{self.origin}#{index}", f"{self.identity}#{index}")

    def holding(self, text: bytes | str) -> Unit:
        """This unit, with `text` as what quarantine keeps of it (one record of it)."""
        return _new_tuple(Unit, (text, self.origin, self.identity))


@dataclass(slots=True)
class Leaf:
    """An SES record found in a unit (`error` is None), or why the unit holds none."""

    record: dict[str, Any] | None
    unit: Unit
    error: str | None = None
    raw: str | None = None  # the record's own one-line JSON text, when it arrived as one
    typed: SesRecord | None = None  # the record read into types (then `record` is None)

    @classmethod
    def bad(cls, unit: Unit, reason: str) -> Leaf:
        """A unit that holds no SES record, and why."""
        return cls(None, unit, reason)


#: Makes a NamedTuple from its fields without the Python-level `__new__` (a record's worth).
_new_tuple = tuple.__new__


def sqs_retry_key(message_id: object) -> str:
    """The identity of an SQS message's unit: what the handler reports back to SQS as a
    failed item's retry key when its rows could not be written."""
    return f"sqs:{message_id}"


def unwrap(value: object, unit: Unit, text: bytes | str | None = None) -> list[Leaf]:
    """Every SES record (or failure) in a parsed JSON value; `text` is the value's own JSON."""
    out: list[Leaf] = []
    _unwrap(value, unit, 0, out, text)
    return out


# The walkers below append to `out` rather than yield: one SQS body is two or three envelopes
# deep, and a chain of generators costs more than the parsing itself.


def _unwrap(
    value: object,
    unit: Unit,
    depth: int,
    out: list[Leaf],
    text: bytes | str | None = None,
) -> None:
    if depth > _MAX_DEPTH:
        out.append(Leaf.bad(unit, "envelopes nested too deep"))
        return
    if isinstance(value, list):
        if not all(isinstance(item, dict) for item in value):
            out.append(Leaf.bad(unit, "JSON array of non-objects, not SES events"))
            return
        for item in value:
            _unwrap(item, unit, depth + 1, out)
        return
    if not isinstance(value, dict):
        reason = f"JSON {type(value).__name__}, not an SES event or envelope"
        out.append(Leaf.bad(unit, reason))
        return
    if "eventType" in value or "notificationType" in value:
        out.append(Leaf(value, unit, raw=_one_line(text)))
    elif isinstance(value.get("Records"), list):
        _lambda_records(value["Records"], unit, depth, out)
    elif _is_sns(value.get("Type")) and "Message" in value:
        _sns_notification(value, unit, depth, out)
    elif "detail-type" in value and "detail" in value:
        _eventbridge(value, unit, depth, out)
    else:
        keys = ", ".join(sorted(value)[:8])
        reason = f"JSON object is not an SES event or a known envelope (keys: {keys})"
        out.append(Leaf.bad(unit, reason))


def sns_message(value: dict[str, Any]) -> str | None:
    """The `Message` of `value` when `value` is an SNS Notification that `unwrap` would open
    (nothing it reads first: no `eventType`, no `Records`; not SES's topic test message)."""
    message = value.get("Message")
    if (
        value.get("Type") != "Notification"
        or not isinstance(message, str)
        or "eventType" in value
        or "notificationType" in value
        or isinstance(value.get("Records"), list)
        or message.startswith(_TOPIC_VALIDATED)
    ):
        return None
    return message


def _is_sns(kind: object) -> bool:
    return isinstance(kind, str) and kind in _SNS_TYPES


def _parse_inner(
    text: object,
    what: str,
    unit: Unit,
    depth: int,
    out: list[Leaf],
) -> None:
    if not isinstance(text, str):
        out.append(Leaf.bad(unit, f"{what} is not a string"))
        return
    typed = decode_line(text)
    if typed is not None:
        out.append(Leaf(None, unit, raw=typed.text, typed=typed.record))
        return
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        out.append(Leaf.bad(unit, f"{what} is not JSON: {exc}"))
        return
    _unwrap(inner, unit, depth + 1, out, text)


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


def _lambda_records(records: list[Any], unit: Unit, depth: int, out: list[Leaf]) -> None:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            text = orjson.dumps(record)
            out.append(Leaf.bad(unit.item(i, text), "Lambda record is not an object"))
            continue
        sns = record.get("Sns")
        if isinstance(sns, dict):
            found = (f"sns:{sns.get('MessageId', i)}", sns.get("Message"), "SNS Message")
        elif "body" in record:
            found = (sqs_retry_key(record.get("messageId", i)), record["body"], "SQS body")
        else:
            found = None
        if found is not None:
            origin, payload, what = found
            original = payload if isinstance(payload, str) else orjson.dumps(record)
            inner = Unit(original, origin, record_identity(unit.identity, origin))
            _parse_inner(payload, what, inner, depth, out)
        elif "s3" in record:
            reason = (
                "an S3 event notification, not an SES event: objects under the raw "
                "prefix are read by the ingest_s3 function"
            )
            out.append(Leaf.bad(unit.holding(orjson.dumps(record)), reason))
        else:
            source = record.get("eventSource") or record.get("EventSource")
            what = "an SES email receiving record" if source == "aws:ses" else "a Lambda record"
            reason = f"not an SES sending event: {what} (eventSource {source!r})"
            out.append(Leaf.bad(unit.holding(orjson.dumps(record)), reason))


def _sns_notification(
    value: dict[str, Any],
    unit: Unit,
    depth: int,
    out: list[Leaf],
) -> None:
    kind = value["Type"]
    if kind != "Notification":
        reason = f"not an SES event: an SNS {kind} message for {value.get('TopicArn')}"
        out.append(Leaf.bad(unit, reason))
        return
    message = value["Message"]
    if isinstance(message, str) and message.startswith(_TOPIC_VALIDATED):
        reason = (
            "not an SES event: SES's test message to a topic newly set as an event destination"
            f" ({message.strip()!r})"
        )
        out.append(Leaf.bad(unit, reason))
        return
    _parse_inner(message, "SNS Message", unit, depth, out)


def _eventbridge(
    value: dict[str, Any],
    unit: Unit,
    depth: int,
    out: list[Leaf],
) -> None:
    detail_type = value.get("detail-type")
    if value.get("source") != "aws.ses":
        reason = f"not an SES event: EventBridge event from {value.get('source')!r}"
        out.append(Leaf.bad(unit, reason))
        return
    detail = value.get("detail")
    if not isinstance(detail, dict):
        out.append(Leaf.bad(unit, "EventBridge event without a detail object"))
        return
    event_type = EVENTBRIDGE_DETAIL_TYPES.get(str(detail_type))
    if event_type is None:  # SES's own other events (CloudTrail API calls, ...) are not mail
        reason = f"not an SES sending event: EventBridge detail-type {detail_type!r}"
        out.append(Leaf.bad(unit, reason))
        return
    if "eventType" not in detail and "notificationType" not in detail:
        detail = {"eventType": event_type, **detail}
    _unwrap(detail, unit, depth + 1, out)
