"""Rows of an SES record decoded into types (`records.SesRecord`): the ingest core's fast path.

It reads what `normalize.normalize` reads, from typed fields instead of dicts, and builds each
row straight in its type's layout (`schema.ROW_LAYOUTS`). Whenever the general way would refuse
the record or read it differently (an empty message id, a timestamp that does not parse, an
address that is empty once bare, ...), `rows` gives None and the record is read the general
way, which gives the reason; so both ways give the same rows or the same reason, by
construction for the refusals and by test (test_core_equivalence) for the rows.

Tags are the same few objects over and over in a batch (the configuration set, the campaign):
`tag_set` keeps one dict per distinct JSON text, so the writer converts each once.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import msgspec

from seslake.errors import BadRecordError
from seslake.normalize import Event, bare_address, first_tag
from seslake.records import (
    TAGS_DECODER,
    Bounce,
    Click,
    Complaint,
    Delivery,
    DeliveryDelay,
    Mail,
    Open,
    Reject,
    RenderingFailure,
    SesRecord,
    Subscription,
)
from seslake.schema import EVENT_TYPE_NAMES, NOTIFICATION_TYPE_NAMES, ROW_LAYOUTS
from seslake.timestamps import to_epoch_ms, utc_day

Row = tuple[Any, ...]


class _NotTyped(Exception):
    """The record is to be read the general way."""


def rows(record: SesRecord, origin: str, ingested_at: int, raw: str) -> Event | None:
    """The rows of a typed record, or None: read it the general way (`normalize.normalize`).

    `raw` is the record's own one-line JSON text (the `raw` column)."""
    try:
        return _rows(record, origin, ingested_at, raw)
    except (_NotTyped, BadRecordError):
        return None


def _rows(record: SesRecord, origin: str, ingested_at: int, raw: str) -> Event:
    if isinstance(record.event_type, str):
        event_type = EVENT_TYPE_NAMES.get(record.event_type)
        source_format = "event_publishing"
    elif isinstance(record.notification_type, str):
        event_type = NOTIFICATION_TYPE_NAMES.get(record.notification_type)
        source_format = "notification"
    else:
        event_type = None
    if event_type is None:
        raise _NotTyped
    mail = record.mail
    message_id = mail.message_id
    if not message_id:
        raise _NotTyped
    sent_at = to_epoch_ms(mail.timestamp, "mail.timestamp")
    destination = _addresses(mail.destination)
    recipients, own, per_recipient, event_at, discriminator = _PARSERS[event_type](
        record, destination, sent_at
    )
    if not recipients:
        raise _NotTyped
    tags = tag_set(mail.tags)
    shared: Row = (
        message_id,
        event_at,
        sent_at,
        source_format,
        mail.source,
        _from_address(mail),
        mail.common_headers.subject if mail.common_headers is not None else None,
        destination,
        mail.sending_account_id,
        mail.source_arn,
        mail.source_ip or tags.source_ip,
        mail.caller_identity or tags.caller_identity,
        tags.configuration_set,
        tags.tags,
        raw,
        origin,
        ingested_at,
        *own,
    )
    prefix = f"{message_id}|{event_type}|{event_at}|{discriminator}|"
    blake2b = hashlib.blake2b
    if per_recipient is None:
        out = [
            (blake2b((prefix + r).encode(), digest_size=16).hexdigest(), r, *shared)
            for r in recipients
        ]
    else:
        out = [
            (blake2b((prefix + r).encode(), digest_size=16).hexdigest(), r, *shared, *each)
            for r, each in zip(recipients, per_recipient, strict=True)
        ]
    return event_type, utc_day(event_at), event_at, out


class TagSet(NamedTuple):
    """A record's tags and the columns read from them."""

    tags: dict[str, list[str]] | None
    source_ip: str | None
    caller_identity: str | None
    configuration_set: str | None


#: Tag sets by their JSON text: rows of equal tags share one dict (the writer converts it once).
_TAG_SETS: dict[bytes, TagSet] = {}
_MAX_TAG_SETS = 4096


def tag_set(text: msgspec.Raw) -> TagSet:
    """The tags of `mail.tags`'s JSON text (read once per distinct text)."""
    key = bytes(text)
    found = _TAG_SETS.get(key)
    if found is None:
        try:
            tags = TAGS_DECODER.decode(key)
        except msgspec.DecodeError:  # not lists of strings: the general way reads them
            raise _NotTyped from None
        found = TagSet(
            tags,
            first_tag(tags, "ses:source-ip"),
            first_tag(tags, "ses:caller-identity"),
            first_tag(tags, "ses:configuration-set"),
        )
        if len(_TAG_SETS) >= _MAX_TAG_SETS:
            _TAG_SETS.clear()
        _TAG_SETS[key] = found
    return found


#: What a type's parser reads from its own object: (recipients, its `columns` in their
#: declared order, each recipient's `recipient_columns` or None, event time, what tells two
#: events of one type, message, recipient and time apart). A plain tuple: one per record.
_Parsed = tuple[list[str], Row, list[Row] | None, int, str]


def _payload(value: Any) -> Any:
    if value is None:
        raise _NotTyped
    return value


def _send(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    return (destination, (), None, sent_at, "")


def _reject(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Reject = _payload(record.reject)
    return (destination, (payload.reason,), None, sent_at, "")


def _rendering_failure(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: RenderingFailure = _payload(record.failure)
    return (destination, (payload.error_message, payload.template_name), None, sent_at, "")


def _bounce(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Bounce = _payload(record.bounce)
    items = payload.bounced_recipients
    own = (
        payload.bounce_type,
        payload.bounce_sub_type,
        payload.feedback_id,
        payload.reporting_mta,
        payload.remote_mta_ip,
    )
    at = to_epoch_ms(payload.timestamp, "bounce.timestamp")
    return (
        _addresses([r.email_address for r in items]),
        own,
        [(r.action, r.status, r.diagnostic_code) for r in items],
        at,
        payload.feedback_id or "",
    )


def _complaint(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Complaint = _payload(record.complaint)
    arrival = payload.arrival_date
    own = (
        payload.feedback_id,
        payload.complaint_feedback_type,
        payload.complaint_sub_type,
        None if arrival is None else to_epoch_ms(arrival, "complaint.arrivalDate"),
        payload.user_agent,
    )
    at = to_epoch_ms(payload.timestamp, "complaint.timestamp")
    recipients = _addresses([r.email_address for r in payload.complained_recipients])
    return (recipients, own, None, at, payload.feedback_id or "")


def _delivery(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Delivery = _payload(record.delivery)
    own = (
        payload.reporting_mta,
        payload.remote_mta_ip,
        payload.smtp_response,
        payload.processing_time_millis,
    )
    at = to_epoch_ms(payload.timestamp, "delivery.timestamp")
    return (_addresses(payload.recipients), own, None, at, "")


def _delivery_delay(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: DeliveryDelay = _payload(record.delivery_delay)
    items = payload.delayed_recipients
    expires = payload.expiration_time
    own = (
        payload.reporting_mta,
        payload.delay_type,
        None if expires is None else to_epoch_ms(expires, "deliveryDelay.expirationTime"),
    )
    at = to_epoch_ms(payload.timestamp, "deliveryDelay.timestamp")
    return (
        _addresses([r.email_address for r in items]),
        own,
        [(r.diagnostic_code, r.status) for r in items],
        at,
        payload.delay_type or "",
    )


def _open(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Open = _payload(record.open)
    at = to_epoch_ms(payload.timestamp, "open.timestamp")
    own = (payload.ip_address, payload.user_agent)
    return (destination, own, None, at, f"{payload.ip_address}|{payload.user_agent}")


def _click(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Click = _payload(record.click)
    at = to_epoch_ms(payload.timestamp, "click.timestamp")
    own = (payload.link, payload.link_tags, payload.ip_address, payload.user_agent)
    discriminator = f"{payload.link}|{payload.ip_address}|{payload.user_agent}"
    return (destination, own, None, at, discriminator)


def _subscription(record: SesRecord, destination: list[str], sent_at: int) -> _Parsed:
    payload: Subscription = _payload(record.subscription)
    prefs = payload.new_topic_preferences
    unsubscribe_all = prefs.unsubscribe_all if prefs is not None else None
    topics: dict[str, str] = {}
    for item in (prefs.topic_subscription_status if prefs is not None else None) or []:
        if item.topic_name is not None:
            topics[item.topic_name] = item.subscription_status or ""
    own = (
        payload.contact_list,
        payload.source,
        unsubscribe_all,
        topics,
        bool(unsubscribe_all) or "OptOut" in topics.values(),
    )
    at = to_epoch_ms(payload.timestamp, "subscription.timestamp")
    return (destination, own, None, at, payload.contact_list or "")


_PARSERS = {
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
assert _PARSERS.keys() == ROW_LAYOUTS.keys()


def _addresses(values: list[str]) -> list[str]:
    """Bare addresses; one that is empty once bare is for the general way to refuse."""
    addresses = [bare_address(v) for v in values]
    if "" in addresses:
        raise _NotTyped
    return addresses


def _from_address(mail: Mail) -> str | None:
    headers = mail.common_headers
    senders = headers.from_ if headers is not None else None
    if senders:
        return bare_address(senders[0]) or None
    return bare_address(mail.source) or None if mail.source is not None else None
