"""One SES record (either format, any event type) to flat rows: one per recipient it concerns.

Each event type has its own function below (`_bounce`, `_click`, ...), named as the type, that
returns the recipients it concerns and the type's own columns. Everything shared (the `mail`
object, identity, provenance) is built once per record in `normalize`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from seslake.errors import BadRecordError, NotSesEventError, UnknownEventTypeError
from seslake.schema import (
    EVENT_COLUMN_NAMES,
    EVENT_TYPE_NAMES,
    NOTIFICATION_TYPE_NAMES,
    PAYLOAD_KEYS,
    ROW_LAYOUTS,
)
from seslake.timestamps import to_epoch_ms, utc_day

Row = list[Any]
Record = dict[str, Any]
Columns = dict[str, Any]

_INDEX: dict[str, int] = {name: i for i, name in enumerate(EVENT_COLUMN_NAMES)}
_NCOLS = len(EVENT_COLUMN_NAMES)
_I_EVENT_ID = _INDEX["event_id"]
_I_MESSAGE_ID = _INDEX["message_id"]
_I_RECIPIENT = _INDEX["recipient"]
_I_EVENT_AT = _INDEX["event_at"]
_I_SENT_AT = _INDEX["sent_at"]
_I_SOURCE_FORMAT = _INDEX["source_format"]
_I_SOURCE = _INDEX["source"]
_I_FROM_ADDRESS = _INDEX["from_address"]
_I_SUBJECT = _INDEX["subject"]
_I_DESTINATION = _INDEX["destination"]
_I_SENDING_ACCOUNT_ID = _INDEX["sending_account_id"]
_I_SOURCE_ARN = _INDEX["source_arn"]
_I_SOURCE_IP = _INDEX["source_ip"]
_I_CALLER_IDENTITY = _INDEX["caller_identity"]
_I_CONFIGURATION_SET = _INDEX["configuration_set"]
_I_TAGS = _INDEX["tags"]
_I_RAW = _INDEX["raw"]
_I_INGEST_SOURCE = _INDEX["ingest_source"]
_I_INGESTED_AT = _INDEX["ingested_at"]

#: Notification types SES sends that are not about sent mail.
_NOT_SENDING = {
    "Received": "an SES email receiving notification (notificationType Received)",
    "AmazonSnsSubscriptionSucceeded": "the SES notice that an SNS topic subscription succeeded",
}


def event_type_of(record: Record) -> tuple[str, str]:
    """(event_type, source_format) of an SES record, or the reason it is not one we know."""
    if "eventType" in record:
        name = record["eventType"]
        event_type = EVENT_TYPE_NAMES.get(name) if isinstance(name, str) else None
        if event_type is None and not isinstance(record.get("mail"), dict):
            # Not mail at all: a CloudTrail record (AwsApiCall), an SMS event (TEXT_SUCCESSFUL)
            raise NotSesEventError(
                f"not an SES sending event: eventType {name!r} without a mail object"
            )
        if event_type is None:  # a mail event of a type SES added since
            raise UnknownEventTypeError(f"unknown SES eventType {name!r}")
        return event_type, "event_publishing"
    name = record.get("notificationType")
    if isinstance(name, str) and name in NOTIFICATION_TYPE_NAMES:
        return NOTIFICATION_TYPE_NAMES[name], "notification"
    if isinstance(name, str) and name in _NOT_SENDING:
        raise NotSesEventError(f"not an SES sending event: {_NOT_SENDING[name]}")
    raise UnknownEventTypeError(f"unknown SES notificationType {name!r}")


def normalize(
    record: Record, origin: str, ingested_at: int, raw: str | None = None
) -> tuple[str, list[tuple[str, Row]]]:
    """(event_type, rows with their `dt` partition) of one SES record; BadRecordError says why not.

    A row is a list of values in the order of `schema.EVENT_COLUMNS`. `raw` is the record's
    compact JSON text when the caller already has it (it is serialized otherwise)."""
    event_type, source_format = event_type_of(record)
    mail = record.get("mail")
    if not isinstance(mail, dict):
        raise BadRecordError(f"{event_type} record without a 'mail' object")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise BadRecordError(f"{event_type} record without mail.messageId")
    sent_at = to_epoch_ms(mail.get("timestamp"), "mail.timestamp")
    destination = _addresses(mail.get("destination"), "mail.destination")

    key = PAYLOAD_KEYS[event_type]
    payload = record.get(key)
    if payload is None and event_type == "send":
        payload = {}
    if not isinstance(payload, dict):
        raise BadRecordError(f"{event_type} record without a '{key}' object")
    recipients, shared, per_recipient, event_at, discriminator = _PARSERS[event_type](
        payload, mail, destination, sent_at
    )
    if not recipients:
        raise BadRecordError(f"{event_type} record for message {message_id} names no recipient")

    tags = _tags(mail.get("tags"), "mail.tags")
    common: Row = [None] * _NCOLS
    common[_I_MESSAGE_ID] = message_id
    common[_I_EVENT_AT] = event_at
    common[_I_SENT_AT] = sent_at
    common[_I_SOURCE_FORMAT] = source_format
    common[_I_SOURCE] = _text(mail.get("source"))
    common[_I_FROM_ADDRESS] = _from_address(mail)
    common[_I_SUBJECT] = _text(_get(mail, "commonHeaders", "subject"))
    common[_I_DESTINATION] = destination
    common[_I_SENDING_ACCOUNT_ID] = _text(mail.get("sendingAccountId"))
    common[_I_SOURCE_ARN] = _text(mail.get("sourceArn"))
    common[_I_SOURCE_IP] = _text(mail.get("sourceIp")) or first_tag(tags, "ses:source-ip")
    common[_I_CALLER_IDENTITY] = _text(mail.get("callerIdentity")) or first_tag(
        tags, "ses:caller-identity"
    )
    common[_I_CONFIGURATION_SET] = first_tag(tags, "ses:configuration-set")
    common[_I_TAGS] = tags
    common[_I_RAW] = raw if raw is not None else orjson.dumps(record).decode()
    common[_I_INGEST_SOURCE] = origin
    common[_I_INGESTED_AT] = ingested_at
    for name, value in shared.items():
        common[_INDEX[name]] = value
    dt = utc_day(event_at)
    identity_prefix = f"{message_id}|{event_type}|{event_at}|{discriminator}|"
    rows: list[tuple[str, Row]] = []
    for i, recipient in enumerate(recipients):
        row = common.copy()
        row[_I_RECIPIENT] = recipient
        row[_I_EVENT_ID] = hashlib.blake2b(
            (identity_prefix + recipient).encode(), digest_size=16
        ).hexdigest()
        if per_recipient:
            for name, value in per_recipient[i].items():
                row[_INDEX[name]] = value
        rows.append((dt, row))
    return event_type, rows


#: One SES record's rows in its type's layout (`schema.ROW_LAYOUTS[event_type]`), as the writer
#: takes them: (event_type, dt, event_at, rows). A plain tuple: one is made per record, and a
#: NamedTuple costs several times as much to make.
Event = tuple[str, str, int, list[tuple[Any, ...]]]


def as_event(event_type: str, rows: list[tuple[str, Row]]) -> Event:
    """What `normalize` gives, in the event type's layout. A value in a column outside the
    layout would be lost there: it raises instead (a seslake bug, quarantined as one)."""
    take, outside = _LAYOUTS[event_type]
    out = []
    for _, row in rows:
        if any(row[i] is not None for i in outside):
            names = [EVENT_COLUMN_NAMES[i] for i in outside if row[i] is not None]
            raise AssertionError(f"{event_type} row sets columns outside its layout: {names}")
        out.append(take(row))
    dt, first = rows[0]
    return event_type, dt, first[_I_EVENT_AT], out


def _layout(names: tuple[str, ...]) -> tuple[Callable[[Row], tuple[Any, ...]], list[int]]:
    indices = [_INDEX[name] for name in names]  # every layout has many: itemgetter gives tuples
    return itemgetter(*indices), [i for i in range(_NCOLS) if i not in indices]


_LAYOUTS = {event_type: _layout(names) for event_type, names in ROW_LAYOUTS.items()}


class Parsed(NamedTuple):
    """What a parser reads from its event type's own object."""

    recipients: list[str]
    shared: Columns
    """Columns of every row of the record."""
    per_recipient: list[Columns]
    """Columns of each recipient's row, in the order of `recipients` (or none)."""
    event_at: int
    discriminator: str
    """What tells two events of one type, message, recipient and time apart (feedback id,
    link, ...): part of `event_id`."""


# Each parser: (payload, mail, destination, sent_at) -> Parsed.
Parser = Callable[[Record, Record, list[str], int], Parsed]


def _send(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    return Parsed(destination, {}, [], sent_at, "")


def _reject(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    return Parsed(destination, {"reject_reason": _text(payload.get("reason"))}, [], sent_at, "")


def _rendering_failure(
    payload: Record, mail: Record, destination: list[str], sent_at: int
) -> Parsed:
    shared: Columns = {
        "error_message": _text(payload.get("errorMessage")),
        "template_name": _text(payload.get("templateName")),
    }
    return Parsed(destination, shared, [], sent_at, "")


def _bounce(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    items = _objects(payload.get("bouncedRecipients"), "bounce.bouncedRecipients")
    recipients = [
        _address(r.get("emailAddress"), "bounce.bouncedRecipients[].emailAddress") for r in items
    ]
    per: list[Columns] = [
        {
            "bounce_action": _text(r.get("action")),
            "bounce_status": _text(r.get("status")),
            "diagnostic_code": _text(r.get("diagnosticCode")),
        }
        for r in items
    ]
    shared: Columns = {
        "bounce_type": _text(payload.get("bounceType")),
        "bounce_subtype": _text(payload.get("bounceSubType")),
        "feedback_id": _text(payload.get("feedbackId")),
        "reporting_mta": _text(payload.get("reportingMTA")),
        "remote_mta_ip": _text(payload.get("remoteMtaIp")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "bounce.timestamp")
    return Parsed(recipients, shared, per, at, shared["feedback_id"] or "")


def _complaint(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    items = _objects(payload.get("complainedRecipients"), "complaint.complainedRecipients")
    recipients = [
        _address(r.get("emailAddress"), "complaint.complainedRecipients[].emailAddress")
        for r in items
    ]
    arrival = payload.get("arrivalDate")
    shared: Columns = {
        "complaint_feedback_type": _text(payload.get("complaintFeedbackType")),
        "complaint_subtype": _text(payload.get("complaintSubType")),
        "complaint_arrival_at": None
        if arrival is None
        else to_epoch_ms(arrival, "complaint.arrivalDate"),
        "feedback_id": _text(payload.get("feedbackId")),
        "user_agent": _text(payload.get("userAgent")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "complaint.timestamp")
    return Parsed(recipients, shared, [], at, shared["feedback_id"] or "")


def _delivery(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    recipients = _addresses(payload.get("recipients"), "delivery.recipients")
    shared: Columns = {
        "smtp_response": _text(payload.get("smtpResponse")),
        "processing_time_ms": _integer(
            payload.get("processingTimeMillis"), "delivery.processingTimeMillis"
        ),
        "reporting_mta": _text(payload.get("reportingMTA")),
        "remote_mta_ip": _text(payload.get("remoteMtaIp")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "delivery.timestamp")
    return Parsed(recipients, shared, [], at, "")


def _delivery_delay(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    items = _objects(payload.get("delayedRecipients"), "deliveryDelay.delayedRecipients")
    recipients = [
        _address(r.get("emailAddress"), "deliveryDelay.delayedRecipients[].emailAddress")
        for r in items
    ]
    per: list[Columns] = [
        {"delay_status": _text(r.get("status")), "diagnostic_code": _text(r.get("diagnosticCode"))}
        for r in items
    ]
    expires = payload.get("expirationTime")
    shared: Columns = {
        "delay_type": _text(payload.get("delayType")),
        "delay_expires_at": None
        if expires is None
        else to_epoch_ms(expires, "deliveryDelay.expirationTime"),
        "reporting_mta": _text(payload.get("reportingMTA")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "deliveryDelay.timestamp")
    return Parsed(recipients, shared, per, at, shared["delay_type"] or "")


def _open(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    shared: Columns = {
        "ip_address": _text(payload.get("ipAddress")),
        "user_agent": _text(payload.get("userAgent")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "open.timestamp")
    return Parsed(destination, shared, [], at, f"{shared['ip_address']}|{shared['user_agent']}")


def _click(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    shared: Columns = {
        "link": _text(payload.get("link")),
        "link_tags": _tags(payload.get("linkTags"), "click.linkTags"),
        "ip_address": _text(payload.get("ipAddress")),
        "user_agent": _text(payload.get("userAgent")),
    }
    at = to_epoch_ms(payload.get("timestamp"), "click.timestamp")
    discriminator = f"{shared['link']}|{shared['ip_address']}|{shared['user_agent']}"
    return Parsed(destination, shared, [], at, discriminator)


def _subscription(payload: Record, mail: Record, destination: list[str], sent_at: int) -> Parsed:
    prefs = payload.get("newTopicPreferences")
    prefs = prefs if isinstance(prefs, dict) else {}
    unsubscribe_all = prefs.get("unsubscribeAll")
    if unsubscribe_all is not None and not isinstance(unsubscribe_all, bool):
        raise BadRecordError(
            f"subscription.newTopicPreferences.unsubscribeAll: {unsubscribe_all!r}"
        )
    topics: dict[str, str] = {}
    for item in _objects(
        prefs.get("topicSubscriptionStatus") or [],
        "subscription.newTopicPreferences.topicSubscriptionStatus",
    ):
        name = _text(item.get("topicName"))
        if name is not None:
            topics[name] = _text(item.get("subscriptionStatus")) or ""
    shared: Columns = {
        "contact_list": _text(payload.get("contactList")),
        "subscription_source": _text(payload.get("source")),
        "unsubscribe_all": unsubscribe_all,
        "topic_preferences": topics,
        "is_opt_out": bool(unsubscribe_all) or "OptOut" in topics.values(),
    }
    at = to_epoch_ms(payload.get("timestamp"), "subscription.timestamp")
    return Parsed(destination, shared, [], at, shared["contact_list"] or "")


_PARSERS: dict[str, Parser] = {
    "send": _send,
    "reject": _reject,
    "rendering_failure": _rendering_failure,
    "bounce": _bounce,
    "complaint": _complaint,
    "delivery": _delivery,
    "delivery_delay": _delivery_delay,
    "open": _open,
    "click": _click,
    "subscription": _subscription,
}


def bare_address(value: str) -> str:
    """`"Jane Doe" <Jane@Example.com>` -> `jane@example.com`."""
    if "<" in value:
        start = value.rfind("<")
        end = value.find(">", start)
        value = value[start + 1 : end if end != -1 else None]
    return value.strip().lower()


def _address(value: object, field: str) -> str:
    if not isinstance(value, str) or not (address := bare_address(value)):
        raise BadRecordError(f"{field}: expected an email address, got {value!r}")
    return address


def _addresses(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        raise BadRecordError(f"{field}: expected a list of addresses, got {type(value).__name__}")
    return [_address(v, f"{field}[]") for v in value]


def _objects(value: object, field: str) -> list[Record]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadRecordError(f"{field}: expected a list of objects")
    return value


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    # A number or an object where SES documents a string: keep its JSON text.
    return orjson.dumps(value).decode()


def _integer(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRecordError(f"{field}: expected a number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise BadRecordError(f"{field}: expected a number, got {value!r}") from None
    if not -(1 << 63) <= number < 1 << 63:
        raise BadRecordError(f"{field}: out of range for a 64-bit integer: {value!r}")
    return number


def _tags(value: object, field: str) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRecordError(f"{field}: expected an object of tag lists")
    if _is_tag_lists(value):
        return value  # the shape SES documents: nothing to convert
    tags: dict[str, list[str]] = {}
    for name, values in value.items():
        items = values if isinstance(values, list) else [values]
        tags[name] = [v if isinstance(v, str) else orjson.dumps(v).decode() for v in items]
    return tags


def _is_tag_lists(value: dict[str, object]) -> bool:
    """Every value a list of strings (plain loops: this runs for every record)."""
    for values in value.values():
        if type(values) is not list:
            return False
        for item in values:
            if type(item) is not str:
                return False
    return True


def first_tag(tags: dict[str, list[str]] | None, name: str) -> str | None:
    if not tags:
        return None
    values = tags.get(name)
    return values[0] if values else None


def _get(obj: Record, *path: str) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _from_address(mail: Record) -> str | None:
    senders = _get(mail, "commonHeaders", "from")
    if isinstance(senders, list) and senders and isinstance(senders[0], str):
        return bare_address(senders[0]) or None
    source = mail.get("source")
    return bare_address(source) or None if isinstance(source, str) else None
