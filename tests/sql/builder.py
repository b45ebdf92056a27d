"""Small lakes built by hand: SES records written as SES would, ingested by the real code.

lake = LakeBuilder(tmp_path)
m = lake.message("m-1", ["a@example.com", "b@example.com"], sent="2026-03-01T10:00:00Z")
m.delivery("a@example.com", at="2026-03-01T10:00:02Z")
m.bounce("b@example.com", "Permanent", "General", at="2026-03-01T10:00:03Z")
lake.request("m-1", region="eu", email_type="receipt")
engine = lake.engine()    # a LocalAthena over the Parquet the ingest wrote
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from seslake.ingest import Ingestor
from seslake.internal import load_internal
from seslake.lake import LocalLake
from seslake_cli.engines.local import LocalAthena

#: A person's mail client (what opens and clicks carry unless a test says otherwise).
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"


@dataclass
class Message:
    """One message SES accepted; each method records one SES event about it."""

    builder: LakeBuilder
    message_id: str
    destination: list[str]
    sent: str
    tags: dict[str, list[str]] = field(default_factory=dict)

    def _mail(self) -> dict[str, Any]:
        return {
            "timestamp": self.sent,
            "source": "sender@example.com",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
            "sendingAccountId": "123456789012",
            "messageId": self.message_id,
            "destination": self.destination,
            "headersTruncated": False,
            "commonHeaders": {
                "from": ["Sender <sender@example.com>"],
                "to": self.destination,
                "messageId": self.message_id,
                "subject": "Your receipt",
            },
            "tags": {"ses:configuration-set": ["seslake"], **self.tags},
        }

    def _event(self, event_type: str, key: str | None, body: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {"eventType": event_type, "mail": self._mail()}
        if key is not None:
            record[key] = body
        self.builder.records.append(record)
        return record

    def send(self) -> dict[str, Any]:
        return self._event("Send", "send", {})

    def reject(self) -> dict[str, Any]:
        return self._event("Reject", "reject", {"reason": "Bad content"})

    def rendering_failure(self) -> dict[str, Any]:
        body = {"templateName": "Receipt", "errorMessage": "Attribute 'name' is missing"}
        return self._event("Rendering Failure", "failure", body)

    def delivery(
        self, recipient: str, at: str, smtp: str = "250 2.6.0 Message received"
    ) -> dict[str, Any]:
        body = {
            "timestamp": at,
            "processingTimeMillis": 1000,
            "recipients": [recipient],
            "smtpResponse": smtp,
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
        return self._event("Delivery", "delivery", body)

    def bounce(self, recipient: str, bounce_type: str, subtype: str, at: str) -> dict[str, Any]:
        body = {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": at,
            "feedbackId": f"bounce-{self.message_id}-{at}",
            "reportingMTA": "dsn; e.example.com",
        }
        return self._event("Bounce", "bounce", body)

    def complaint(self, recipient: str, at: str, feedback_type: str = "abuse") -> dict[str, Any]:
        body = {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": at,
            "feedbackId": f"complaint-{self.message_id}-{at}",
            "complaintFeedbackType": feedback_type,
            "userAgent": "Mail Feedback/1.0",
        }
        return self._event("Complaint", "complaint", body)

    def delay(self, recipient: str, at: str) -> dict[str, Any]:
        body = {
            "timestamp": at,
            "delayType": "MailboxFull",
            "expirationTime": "2099-01-01T00:00:00Z",
            "delayedRecipients": [
                {
                    "emailAddress": recipient,
                    "status": "4.2.2",
                    "diagnosticCode": "smtp; 452 4.2.2 mailbox full",
                }
            ],
        }
        return self._event("DeliveryDelay", "deliveryDelay", body)

    def open(self, at: str, user_agent: str = BROWSER) -> dict[str, Any]:
        body = {"timestamp": at, "userAgent": user_agent, "ipAddress": "192.0.2.1"}
        return self._event("Open", "open", body)

    def click(
        self, at: str, link: str = "https://example.com/a", user_agent: str = BROWSER
    ) -> dict[str, Any]:
        body = {
            "timestamp": at,
            "link": link,
            "linkTags": {"samplekey0": ["samplevalue0"]},
            "userAgent": user_agent,
            "ipAddress": "192.0.2.1",
        }
        return self._event("Click", "click", body)

    def unsubscribe(
        self, at: str, unsubscribe_all: bool = True, topic_status: str = "OptOut"
    ) -> dict[str, Any]:
        body = {
            "contactList": "news",
            "timestamp": at,
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {
                "unsubscribeAll": unsubscribe_all,
                "topicSubscriptionStatus": [
                    {"topicName": "weekly", "subscriptionStatus": topic_status}
                ],
            },
            "oldTopicPreferences": {
                "unsubscribeAll": False,
                "topicSubscriptionStatus": [{"topicName": "weekly", "subscriptionStatus": "OptIn"}],
            },
        }
        return self._event("Subscription", "subscription", body)


@dataclass
class LakeBuilder:
    """Collects SES records and internal rows, then writes them to a real local lake."""

    root: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def message(
        self,
        message_id: str,
        destination: list[str],
        sent: str,
        tags: dict[str, list[str]] | None = None,
    ) -> Message:
        return Message(self, message_id, destination, sent, tags or {})

    def request(self, message_id: str, **columns: Any) -> None:
        self.requests.append({"message_id": message_id, **columns})

    def again(self, record: dict[str, Any], times: int = 1) -> None:
        """The same SES record delivered `times` more times (as SNS/SQS may), later."""
        self.copies += [record] * times

    def write(self) -> Path:
        lake_dir = self.root / "lake"
        lake = LocalLake(lake_dir)
        ingestor = Ingestor(lake, now_ms=1_800_000_000_000)
        for number, record in enumerate(self.records):
            ingestor.add_payload(orjson.dumps(record), origin=f"test:{number}")
        written = ingestor.commit()
        assert ingestor.stats.quarantined == 0, ingestor.stats.quarantine_reasons
        assert written.rows >= len(self.records)
        # Each copy in a later invocation of its own, as a redelivery would be written.
        for number, record in enumerate(self.copies, start=1):
            again = Ingestor(lake, now_ms=1_800_000_000_000 + number)
            again.add_payload(orjson.dumps(record), origin=f"copy:{number}")
            assert again.commit().rows
        if self.requests:
            names: dict[str, None] = {}
            for row in self.requests:
                names.update(dict.fromkeys(row))
            path = self.root / "requests.csv"
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(names))
                writer.writeheader()
                writer.writerows(self.requests)
            stats, _ = load_internal([path], lake)
            assert not stats.rejected, stats.rejected
        return lake_dir

    def engine(self) -> LocalAthena:
        return LocalAthena(self.write())
