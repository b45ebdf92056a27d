"""The SES records of the documented shapes, as types: what SES writes, field by field.

One `Struct` per object SES documents (https://docs.aws.amazon.com/ses/latest/dg/event-publishing-
retrieving-sns-contents.html for event publishing, https://docs.aws.amazon.com/ses/latest/dg/
notification-contents.html for identity notifications), with every field SES documents and the
types it documents. msgspec decodes JSON text straight into them, in C, with no dict per object.

A record that does not decode into these types is not lost: `decode_line` then gives None and the
ingest core reads the text the general way (`normalize.normalize` on a parsed dict), which accepts
looser shapes (a number where SES writes a string, tags that are not lists, a field SES added
since) and says why a record is bad. The types are deliberately strict, so that whatever they
accept the general way reads to exactly the same rows (tests/functional/test_core_equivalence.py):
a field they do not declare sends the record the general way, as msgspec would skip its value
without checking it as orjson does (a number beyond a double's range, say).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

#: A 64-bit signed integer (the column's type): a larger number is read the general way, which
#: says it is out of range.
Int64 = Annotated[int, Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
#: SES tags (mail.tags, click.linkTags): each name holds a list of values.
Tags = dict[str, list[str]]


class _Object(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    """An SES JSON object: camelCase field names, no field SES does not document."""


class CommonHeaders(_Object):
    from_: list[str] | None = field(default=None, name="from")
    subject: str | None = None
    to: list[str] | None = None
    cc: list[str] | None = None
    bcc: list[str] | None = None
    reply_to: list[str] | None = None
    sender: str | None = None
    return_path: str | None = None
    date: str | None = None
    message_id: str | None = None


class Header(_Object):
    name: str
    value: str


class Mail(_Object):
    timestamp: str
    message_id: str
    destination: list[str]
    source: str | None = None
    source_arn: str | None = None
    source_ip: str | None = None
    caller_identity: str | None = None
    sending_account_id: str | None = None
    common_headers: CommonHeaders | None = None
    headers: list[Header] | None = None
    headers_truncated: bool | None = None
    #: `Tags` or null, as its JSON text: a batch holds the same few tag sets over and over, so
    #: each distinct text is read once (typed.tag_set).
    tags: msgspec.Raw = msgspec.Raw(b"null")


class Send(_Object):
    pass


class Reject(_Object):
    reason: str | None = None


class RenderingFailure(_Object):
    error_message: str | None = None
    template_name: str | None = None


class BouncedRecipient(_Object):
    email_address: str
    action: str | None = None
    status: str | None = None
    diagnostic_code: str | None = None


class Bounce(_Object):
    timestamp: str
    bounced_recipients: list[BouncedRecipient]
    bounce_type: str | None = None
    bounce_sub_type: str | None = None
    feedback_id: str | None = None
    reporting_mta: str | None = field(default=None, name="reportingMTA")
    remote_mta_ip: str | None = None


class ComplainedRecipient(_Object):
    email_address: str


class Complaint(_Object):
    timestamp: str
    complained_recipients: list[ComplainedRecipient]
    complaint_feedback_type: str | None = None
    complaint_sub_type: str | None = None
    arrival_date: str | None = None
    feedback_id: str | None = None
    user_agent: str | None = None
    reporting_mta: str | None = field(default=None, name="reportingMTA")


class Delivery(_Object):
    timestamp: str
    recipients: list[str]
    smtp_response: str | None = None
    processing_time_millis: Int64 | None = None
    reporting_mta: str | None = field(default=None, name="reportingMTA")
    remote_mta_ip: str | None = None


class DelayedRecipient(_Object):
    email_address: str
    status: str | None = None
    diagnostic_code: str | None = None


class DeliveryDelay(_Object):
    timestamp: str
    delayed_recipients: list[DelayedRecipient]
    delay_type: str | None = None
    expiration_time: str | None = None
    reporting_mta: str | None = field(default=None, name="reportingMTA")


class Open(_Object):
    timestamp: str
    ip_address: str | None = None
    user_agent: str | None = None


class Click(_Object):
    timestamp: str
    link: str | None = None
    link_tags: Tags | None = None
    ip_address: str | None = None
    user_agent: str | None = None


class TopicStatus(_Object):
    topic_name: str | None = None
    subscription_status: str | None = None


class TopicPreferences(_Object):
    unsubscribe_all: bool | None = None
    topic_subscription_status: list[TopicStatus] | None = None


class Subscription(_Object):
    timestamp: str
    contact_list: str | None = None
    source: str | None = None
    new_topic_preferences: TopicPreferences | None = None
    old_topic_preferences: TopicPreferences | None = None


class SesRecord(_Object):
    """One SES record of either format: `event_type` (event publishing) or `notification_type`
    (identity notifications) names the object that holds its own fields."""

    mail: Mail
    event_type: str | UnsetType = UNSET
    notification_type: str | UnsetType = UNSET
    send: Send | None = None
    reject: Reject | None = None
    failure: RenderingFailure | None = None
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    delivery: Delivery | None = None
    delivery_delay: DeliveryDelay | None = None
    open: Open | None = None
    click: Click | None = None
    subscription: Subscription | None = None


_DECODER = msgspec.json.Decoder(SesRecord)
TAGS_DECODER = msgspec.json.Decoder(Tags | None)


class Typed(NamedTuple):
    """An SES record read into types, and its own one-line JSON text (the `raw` column)."""

    record: SesRecord
    text: str


#: Makes a Typed from its fields without the Python-level `__new__` (one per record).
_new_tuple = tuple.__new__


def decode_line(text: bytes | str) -> Typed | None:
    """The SES record `text` holds, if it holds exactly one, of the documented shapes, on one
    line; else None: read it the general way.

    Nothing is searched for first: a text of another shape fails at its first field the types
    do not declare (an envelope's `Type`, say), so a miss costs little."""
    if isinstance(text, bytes):
        try:
            text = text.decode()  # all of it must be UTF-8, not just what msgspec reads
        except UnicodeDecodeError:
            return None
    if "\n" in text:
        return None
    try:
        return _new_tuple(Typed, (_DECODER.decode(text), text))
    except (msgspec.DecodeError, UnicodeEncodeError):  # not valid, or a lone surrogate
        return None
