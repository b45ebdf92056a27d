"""The single source of truth for the lake's tables.

Every column is declared once, with its Arrow type, its Glue/Athena type and its meaning. The
writer, the Glue tables in template.yaml (checked by a test), docs/schema.md and the local SQL
engine all derive from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

EVENTS_TABLE = "ses_events"
REQUESTS_TABLE = "ses_requests"

#: Normalized event types, in lifecycle order (the order a recipient's journey breaks ties by).
#: The first day Athena's partition projection reads (template.yaml `projection.dt.range`,
#: which ends a day after now): SES began in 2011. An event dated outside the range would be
#: written where Athena never looks, so ingest quarantines it instead.
FIRST_EVENT_DAY = "2011-01-01"
#: How far past the ingest clock an event may be dated (the projection's NOW+1DAYS).
MAX_FUTURE_MS = 86_400_000


_TS = pa.timestamp("ms")  # UTC wall-clock, as Athena's `timestamp`
_STR_LIST = pa.list_(pa.string())


@dataclass(frozen=True)
class Column:
    """One column: its name, Arrow and Glue types, meaning and SES origin."""

    name: str
    arrow: pa.DataType
    glue: str
    doc: str
    origin: str = ""


#: The columns every event type fills, in the order the ingest core builds them: the event and
#: its recipient, then what the record's `mail` object and envelope give every row of it.
ROW_COLUMNS: tuple[str, ...] = (
    "event_id",
    "recipient",
    "message_id",
    "event_at",
    "sent_at",
    "source_format",
    "source",
    "from_address",
    "subject",
    "destination",
    "sending_account_id",
    "source_arn",
    "source_ip",
    "caller_identity",
    "configuration_set",
    "tags",
    "raw",
    "ingest_source",
    "ingested_at",
)


@dataclass(frozen=True)
class EventType:
    """One kind of SES event and every name it goes by."""

    name: str
    """The `event_type` column's value (and partition)."""
    event_type: str
    """Event publishing's `eventType`."""
    payload_key: str
    """The key of the record's own object for this type (`failure` for Rendering Failure)."""
    detail_type: str
    """EventBridge's `detail-type` for it."""
    notification_type: str | None = None
    """The identity notification's `notificationType`, for the three types that have one."""
    columns: tuple[str, ...] = ()
    """The type's own columns with one value for the whole record (every type also fills
    `ROW_COLUMNS`); the others stay null in its rows."""
    recipient_columns: tuple[str, ...] = ()
    """The type's own columns with a value per recipient (bounce, delay)."""

    @property
    def row_layout(self) -> tuple[str, ...]:
        """The columns of the type's rows, in the order the ingest core builds them."""
        return ROW_COLUMNS + self.columns + self.recipient_columns


#: Every SES event type, in lifecycle order: a message is sent (or rejected, or fails to render),
#: delayed, delivered or bounced, then opened, clicked, complained about, unsubscribed from. The
#: position is recipient_journey's `lifecycle_rank` (it orders events of one instant).
EVENT_TYPE_REGISTRY: tuple[EventType, ...] = (
    EventType("send", "Send", "send", "Email Sent"),
    EventType("reject", "Reject", "reject", "Email Rejected", columns=("reject_reason",)),
    EventType(
        "rendering_failure",
        "Rendering Failure",
        "failure",
        "Email Rendering Failed",
        columns=("error_message", "template_name"),
    ),
    EventType(
        "delivery_delay",
        "DeliveryDelay",
        "deliveryDelay",
        "Email Delivery Delayed",
        columns=("reporting_mta", "delay_type", "delay_expires_at"),
        recipient_columns=("diagnostic_code", "delay_status"),
    ),
    EventType(
        "delivery",
        "Delivery",
        "delivery",
        "Email Delivered",
        "Delivery",
        columns=("reporting_mta", "remote_mta_ip", "smtp_response", "processing_time_ms"),
    ),
    EventType(
        "bounce",
        "Bounce",
        "bounce",
        "Email Bounced",
        "Bounce",
        columns=("bounce_type", "bounce_subtype", "feedback_id", "reporting_mta", "remote_mta_ip"),
        recipient_columns=("bounce_action", "bounce_status", "diagnostic_code"),
    ),
    EventType("open", "Open", "open", "Email Opened", columns=("ip_address", "user_agent")),
    EventType(
        "click",
        "Click",
        "click",
        "Email Clicked",
        columns=("link", "link_tags", "ip_address", "user_agent"),
    ),
    EventType(
        "complaint",
        "Complaint",
        "complaint",
        "Email Complaint Received",
        "Complaint",
        columns=(
            "feedback_id",
            "complaint_feedback_type",
            "complaint_subtype",
            "complaint_arrival_at",
            "user_agent",
        ),
    ),
    EventType(
        "subscription",
        "Subscription",
        "subscription",
        "Email Subscribed",
        columns=(
            "contact_list",
            "subscription_source",
            "unsubscribe_all",
            "topic_preferences",
            "is_opt_out",
        ),
    ),
)
EVENT_TYPES: tuple[str, ...] = tuple(t.name for t in EVENT_TYPE_REGISTRY)
#: Event publishing `eventType` -> event_type.
EVENT_TYPE_NAMES: dict[str, str] = {t.event_type: t.name for t in EVENT_TYPE_REGISTRY}
#: Identity notification `notificationType` -> event_type.
NOTIFICATION_TYPE_NAMES: dict[str, str] = {
    t.notification_type: t.name for t in EVENT_TYPE_REGISTRY if t.notification_type
}
#: event_type -> the key of its own object in the record.
PAYLOAD_KEYS: dict[str, str] = {t.name: t.payload_key for t in EVENT_TYPE_REGISTRY}
#: EventBridge detail-type of SES email events -> the eventType of the record in `detail`.
EVENTBRIDGE_DETAIL_TYPES: dict[str, str] = {
    t.detail_type: t.event_type for t in EVENT_TYPE_REGISTRY
}


EVENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "event_id",
        pa.string(),
        "string",
        "Deterministic id of the SES event for this recipient: the same event through any "
        "envelope or format gets the same id.",
        "hash of message id, event type, recipient, event time and the event's own "
        "discriminators (feedback id, link, ...)",
    ),
    Column(
        "message_id",
        pa.string(),
        "string",
        "SES message id: the key to join internal data on.",
        "mail.messageId",
    ),
    Column(
        "recipient",
        pa.string(),
        "string",
        "The address this row is about, bare and lowercased.",
        "delivery.recipients[]; bounce.bouncedRecipients[].emailAddress; "
        "complaint.complainedRecipients[].emailAddress; "
        "deliveryDelay.delayedRecipients[].emailAddress; mail.destination[] for send, reject, "
        "open, click, rendering_failure, subscription",
    ),
    Column(
        "event_at",
        _TS,
        "timestamp",
        "When the event happened (UTC, milliseconds).",
        "<event>.timestamp; mail.timestamp for send, reject and rendering_failure",
    ),
    Column(
        "sent_at",
        _TS,
        "timestamp",
        "When SES accepted the message (UTC, milliseconds).",
        "mail.timestamp",
    ),
    Column(
        "source_format",
        pa.string(),
        "string",
        "`event_publishing` (configuration set, `eventType`) or `notification` "
        "(identity notification, `notificationType`).",
        "eventType / notificationType",
    ),
    Column(
        "source",
        pa.string(),
        "string",
        "Envelope sender (MAIL FROM) as SES reports it.",
        "mail.source",
    ),
    Column(
        "from_address",
        pa.string(),
        "string",
        "Bare, lowercased address of the From header.",
        "mail.commonHeaders.from[0], else mail.source",
    ),
    Column(
        "subject",
        pa.string(),
        "string",
        "Subject header (absent for some templated mail).",
        "mail.commonHeaders.subject",
    ),
    Column(
        "destination",
        _STR_LIST,
        "array<string>",
        "Every recipient of the message (To, Cc, Bcc), bare and lowercased.",
        "mail.destination",
    ),
    Column(
        "sending_account_id",
        pa.string(),
        "string",
        "AWS account that sent the message.",
        "mail.sendingAccountId",
    ),
    Column("source_arn", pa.string(), "string", "ARN of the sending identity.", "mail.sourceArn"),
    Column(
        "source_ip",
        pa.string(),
        "string",
        "IP address of the caller that sent the message.",
        "mail.sourceIp (notifications); mail.tags['ses:source-ip'] (event publishing)",
    ),
    Column(
        "caller_identity",
        pa.string(),
        "string",
        "IAM identity that sent the message.",
        "mail.callerIdentity (notifications); mail.tags['ses:caller-identity']",
    ),
    Column(
        "configuration_set",
        pa.string(),
        "string",
        "Configuration set the message used.",
        "mail.tags['ses:configuration-set'][0]",
    ),
    Column(
        "tags",
        pa.map_(pa.string(), _STR_LIST),
        "map<string,array<string>>",
        "Message tags, SES's own (`ses:*`) and yours.",
        "mail.tags (event publishing only)",
    ),
    Column(
        "bounce_type",
        pa.string(),
        "string",
        "Permanent, Transient or Undetermined.",
        "bounce.bounceType",
    ),
    Column(
        "bounce_subtype",
        pa.string(),
        "string",
        "General, NoEmail, Suppressed, OnAccountSuppressionList, MailboxFull, ...",
        "bounce.bounceSubType",
    ),
    Column(
        "bounce_action",
        pa.string(),
        "string",
        "DSN action for this recipient (`failed`).",
        "bounce.bouncedRecipients[].action",
    ),
    Column(
        "bounce_status",
        pa.string(),
        "string",
        "DSN status code for this recipient.",
        "bounce.bouncedRecipients[].status",
    ),
    Column(
        "diagnostic_code",
        pa.string(),
        "string",
        "Diagnostic from the receiving MTA for this recipient.",
        "bounce.bouncedRecipients[].diagnosticCode; "
        "deliveryDelay.delayedRecipients[].diagnosticCode",
    ),
    Column(
        "feedback_id",
        pa.string(),
        "string",
        "SES feedback id of the bounce or complaint.",
        "bounce.feedbackId; complaint.feedbackId",
    ),
    Column(
        "reporting_mta",
        pa.string(),
        "string",
        "MTA that reported the event.",
        "bounce.reportingMTA; delivery.reportingMTA; deliveryDelay.reportingMTA",
    ),
    Column(
        "remote_mta_ip",
        pa.string(),
        "string",
        "IP of the receiving MTA (notifications only).",
        "bounce.remoteMtaIp; delivery.remoteMtaIp",
    ),
    Column(
        "complaint_feedback_type",
        pa.string(),
        "string",
        "abuse, auth-failure, fraud, not-spam, other, virus.",
        "complaint.complaintFeedbackType",
    ),
    Column(
        "complaint_subtype",
        pa.string(),
        "string",
        "null or OnAccountSuppressionList.",
        "complaint.complaintSubType",
    ),
    Column(
        "complaint_arrival_at",
        _TS,
        "timestamp",
        "Arrival date from the feedback report.",
        "complaint.arrivalDate",
    ),
    Column(
        "smtp_response",
        pa.string(),
        "string",
        "SMTP response of the receiving server.",
        "delivery.smtpResponse",
    ),
    Column(
        "processing_time_ms",
        pa.int64(),
        "bigint",
        "Milliseconds from SES accepting the message to its delivery.",
        "delivery.processingTimeMillis",
    ),
    Column(
        "delay_type",
        pa.string(),
        "string",
        "Why delivery is delayed (TransientCommunicationFailure, MailboxFull, ...).",
        "deliveryDelay.delayType",
    ),
    Column(
        "delay_status",
        pa.string(),
        "string",
        "SMTP status of the delayed recipient.",
        "deliveryDelay.delayedRecipients[].status",
    ),
    Column(
        "delay_expires_at",
        _TS,
        "timestamp",
        "When SES stops retrying the delivery.",
        "deliveryDelay.expirationTime",
    ),
    Column("link", pa.string(), "string", "URL that was clicked.", "click.link"),
    Column(
        "link_tags",
        pa.map_(pa.string(), _STR_LIST),
        "map<string,array<string>>",
        "Tags of the clicked link.",
        "click.linkTags",
    ),
    Column(
        "ip_address",
        pa.string(),
        "string",
        "IP address of the opener or clicker.",
        "open.ipAddress; click.ipAddress",
    ),
    Column(
        "user_agent",
        pa.string(),
        "string",
        "User agent of the opener or clicker; the feedback-loop agent of a complaint.",
        "open.userAgent; click.userAgent; complaint.userAgent",
    ),
    Column(
        "reject_reason", pa.string(), "string", "Why SES rejected the message.", "reject.reason"
    ),
    Column(
        "error_message",
        pa.string(),
        "string",
        "Why the template failed to render.",
        "failure.errorMessage",
    ),
    Column(
        "template_name",
        pa.string(),
        "string",
        "Template that failed to render.",
        "failure.templateName",
    ),
    Column(
        "contact_list",
        pa.string(),
        "string",
        "Contact list of the subscription change.",
        "subscription.contactList",
    ),
    Column(
        "subscription_source",
        pa.string(),
        "string",
        "How the subscription changed (UnsubscribeHeader, ...).",
        "subscription.source",
    ),
    Column(
        "unsubscribe_all",
        pa.bool_(),
        "boolean",
        "The recipient's new unsubscribe-from-all preference.",
        "subscription.newTopicPreferences.unsubscribeAll",
    ),
    Column(
        "topic_preferences",
        pa.map_(pa.string(), pa.string()),
        "map<string,string>",
        "New subscription status per topic (OptIn or OptOut).",
        "subscription.newTopicPreferences.topicSubscriptionStatus[]",
    ),
    Column(
        "is_opt_out",
        pa.bool_(),
        "boolean",
        "The subscription change opts out: unsubscribe_all, or any topic set to OptOut. "
        "NULL for other event types.",
        "derived from subscription.newTopicPreferences",
    ),
    Column(
        "raw",
        pa.string(),
        "string",
        "The SES record as compact JSON: any field can be recovered from it.",
        "the record",
    ),
    Column(
        "ingest_source",
        pa.string(),
        "string",
        "Where the row came from: `s3://bucket/key`, `sqs:<message id>`, "
        "`sns:<message id>` or a file path.",
        "the envelope",
    ),
    Column("ingested_at", _TS, "timestamp", "When seslake wrote the row (UTC).", "-"),
)

#: Partition columns: in the path (`event_type=<t>/dt=<d>/`), not in the Parquet files.
EVENT_PARTITIONS: tuple[Column, ...] = (
    Column(
        "event_type",
        pa.string(),
        "string",
        "One of: " + ", ".join(EVENT_TYPES) + " (the same values for both SES formats).",
        "eventType / notificationType",
    ),
    Column("dt", pa.string(), "string", "UTC date of event_at, `YYYY-MM-DD`.", "event_at"),
)

EVENT_SCHEMA: pa.Schema = pa.schema([pa.field(c.name, c.arrow) for c in EVENT_COLUMNS])
EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
#: event_type -> the columns its rows fill, in the order the ingest core builds them.
ROW_LAYOUTS: dict[str, tuple[str, ...]] = {t.name: t.row_layout for t in EVENT_TYPE_REGISTRY}

#: Columns the internal data (`ses_requests`) has whatever else the company adds.
REQUEST_KEY_COLUMNS: tuple[Column, ...] = (
    Column("message_id", pa.string(), "string", "SES message id returned by SendEmail.", ""),
    Column(
        "recipient",
        pa.string(),
        "string",
        "Optional: the recipient the row is about, bare and lowercased.",
        "",
    ),
    Column("request_time", _TS, "timestamp", "Optional: when the company asked SES to send.", ""),
    Column("region", pa.string(), "string", "Optional: the company's region of the recipient.", ""),
    Column(
        "loaded_at",
        _TS,
        "timestamp",
        "When seslake loaded the row (UTC): of two loads of one request, the later wins.",
        "",
    ),
    Column(
        "loaded_from",
        pa.string(),
        "string",
        "The file the row was loaded from: a path, or `s3://bucket/key` with its version.",
        "",
    ),
)


def glue_columns(columns: tuple[Column, ...] = EVENT_COLUMNS) -> list[dict[str, str]]:
    """Glue `Columns` entries for a table: [{"Name": ..., "Type": ...}, ...]."""
    return [{"Name": c.name, "Type": c.glue} for c in columns]


def markdown() -> str:
    """docs/schema.md, generated from the declarations above."""
    lines = [
        "# `ses_events`: the schema",
        "",
        "Generated from `layers/seslake/seslake/schema.py` by `seslake schema`; a test keeps the",
        "two equal. One row per (SES event, recipient the event concerns). Timestamps are UTC,",
        "millisecond precision, stored as Parquet `TIMESTAMP(MILLIS)` and read by Athena as",
        "`timestamp`.",
        "",
        "Layout: `<lake>/ses_events/event_type=<type>/dt=<YYYY-MM-DD>/<file>.parquet` (zstd).",
        "",
        "| column | Athena type | meaning | SES field |",
        "|---|---|---|---|",
    ]
    for c in EVENT_COLUMNS:
        lines.append(f"| `{c.name}` | `{c.glue}` | {c.doc} | {c.origin} |")
    lines += [
        "",
        "## Partitions",
        "",
        "| column | Athena type | meaning | SES field |",
        "|---|---|---|---|",
    ]
    for c in EVENT_PARTITIONS:
        lines.append(f"| `{c.name}` | `{c.glue}` | {c.doc} | {c.origin} |")
    lines += [
        "",
        "## `event_type` values",
        "",
        "Every type fills the columns from `event_id` to `tags` and `raw` to `ingested_at`;"
        " its own columns are null in the rows of the other types.",
        "",
        "| `event_type` | event publishing `eventType` | notification `notificationType` |"
        " its own columns |",
        "|---|---|---|---|",
    ]
    for t in EVENT_TYPE_REGISTRY:
        notification = f"`{t.notification_type}`" if t.notification_type else "-"
        own = ", ".join(f"`{c}`" for c in t.columns + t.recipient_columns) or "-"
        lines.append(f"| `{t.name}` | `{t.event_type}` | {notification} | {own} |")
    return "\n".join(lines) + "\n"
