"""Realistic, seeded SES traffic for the demo, and the truth about it.

Records are built from the real SES samples (events/ses/publishing) with ids, names, addresses,
times and outcomes changed. While it writes each event the generator records what it means for
its (message, recipient) pair by the counting rules of docs/views.md, in plain Python: that is
the truth the demo checks the views against.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "events" / "ses" / "publishing"
_TEMPLATES = {
    "Send": "send.json",
    "Delivery": "delivery.json",
    "Bounce": "bounce-permanent.json",
    "Complaint": "complaint.json",
    "DeliveryDelay": "deliverydelay.json",
    "Open": "open.json",
    "Click": "click.json",
    "Reject": "reject.json",
    "Rendering Failure": "rendering-failure.json",
    "Subscription": "subscription.json",
}

#: Sends start on a Monday this many days back: the last late events (opens and complaints
#: weeks after the send) then still lie in the past, where ingest accepts them.
WEEKS_BACK = 8


def default_start(today: datetime | None = None) -> datetime:
    """The Monday (00:00 UTC) at least WEEKS_BACK weeks before today."""
    day = (today or datetime.now(UTC)).astimezone(UTC) - timedelta(weeks=WEEKS_BACK)
    monday = day - timedelta(days=day.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


REGIONS = {"eu": 0.38, "us": 0.34, "apac": 0.18, "latam": 0.10}
EMAIL_TYPES = {"receipt": 0.35, "newsletter": 0.30, "password_reset": 0.15, "promotion": 0.20}
CAMPAIGNS = {
    "newsletter": ["weekly-digest", "product-news"],
    "promotion": ["winter-sale", "black-friday", "loyalty"],
}
OPEN_RATE = {"receipt": 0.45, "newsletter": 0.30, "password_reset": 0.65, "promotion": 0.22}
TIERS = ["free", "pro", "enterprise"]
FIRST = [
    "ana",
    "ben",
    "chloe",
    "dmitri",
    "eva",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kofi",
    "lena",
    "mateo",
    "nadia",
    "omar",
    "priya",
    "quentin",
    "rosa",
    "sven",
    "tariq",
    "uma",
    "victor",
    "wen",
    "ximena",
    "yusuf",
    "zoe",
]
LAST = [
    "alvarez",
    "berg",
    "chen",
    "dubois",
    "eze",
    "fischer",
    "garcia",
    "haddad",
    "ito",
    "jensen",
    "kowalski",
    "lopez",
    "moreau",
    "nakamura",
    "okafor",
    "petrov",
    "quinn",
    "rossi",
    "silva",
    "tanaka",
    "ulrich",
    "varga",
    "weber",
    "xu",
    "yilmaz",
    "zhang",
]
#: Recipient domains by mailbox provider, with their share of recipients; a company domain's
#: provider shows only in the MX that accepts its deliveries.
DOMAINS: dict[str, tuple[str, float, list[str]]] = {
    # provider: (the delivery's SMTP response, share, domains)
    "google": ("250 2.0.0 OK  1730000000 x12si1234567qkl.123 - gsmtp", 0.30, ["gmail.com"]),
    "microsoft": (
        "250 2.6.0 <id@email.amazonses.com> [Hostname=AM0PR02MB1234.eurprd02.prod.outlook.com]"
        " Queued mail for delivery",
        0.15,
        ["outlook.com", "hotmail.com", "live.com"],
    ),
    "yahoo": ("250 ok dirdel", 0.08, ["yahoo.com", "aol.com"]),
    "apple": ("250 2.0.0 Ok: queued", 0.07, ["icloud.com", "me.com"]),
    "workspace": (
        "250 2.0.0 OK  1730000000 b3si9876543qvb.45 - gsmtp",
        0.10,
        ["acme-corp.example", "northwind.example"],
    ),
    "m365": (
        "250 2.6.0 <id@email.amazonses.com> [Hostname=DB9PR01MB5678.eurprd01.prod.outlook.com]"
        " Queued mail for delivery",
        0.10,
        ["contoso.example", "fabrikam.example"],
    ),
    "other": ("250 2.0.0 OK", 0.20, ["example.org", "mail.example.net"]),
}
#: What the views call each: a company domain is its host's.
PROVIDER_OF = {"workspace": "google", "m365": "microsoft"}
HARD_SUBTYPES = ["General", "NoEmail", "Suppressed", "OnAccountSuppressionList"]
SOFT_SUBTYPES = ["General", "MailboxFull", "MessageTooLarge", "ContentRejected"]
DELAY_TYPES = ["MailboxFull", "TransientCommunicationFailure", "SpamDetected", "IPFailure"]
COMPLAINT_TYPES = ["abuse", "abuse", "abuse", "not-spam", "other"]
LINKS = [
    "https://shop.example.com/",
    "https://shop.example.com/deals",
    "https://example.com/account",
    "https://example.com/unsubscribe-help",
    "https://blog.example.com/latest",
]
#: Machines' user agents.
APPLE_PROXY = "Mozilla/5.0"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
BOT = "python-requests/2.31.0"
#: Share of recipients using Apple Mail with Privacy Protection (opens every message on arrival).
APPLE_MAIL_SHARE = 0.35
#: Share of a company domain's deliveries a security gateway clicks through on arrival.
SCANNED_SHARE = 0.4
TENANTS = {"acme": 0.3, "globex": 0.2}
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
]

#: Counted flags of a pair, as message_status names them.
FLAGS = (
    "sent",
    "delivered",
    "bounced",
    "hard_bounced",
    "soft_bounced",
    "complained",
    "rejected",
    "delayed",
    "opened",
    "clicked",
    "human_opened",
    "human_clicked",
    "suppressed",
    "reputation_bounced",
    "unsubscribed",
)


@dataclass
class Pair:
    """What happened to one (message, recipient), by the counting rules."""

    message_id: str
    recipient: str
    region: str
    email_type: str
    sent_at: datetime
    events: Counter[str] = field(default_factory=Counter)
    provider: str = "other"
    tenant: str | None = None
    hard: bool = False
    transient: bool = False
    opted_out: bool = False
    suppressed: bool = False
    reputation_bounced: bool = False
    human_opened: bool = False  # a person's open or click (the generator knows which)
    human_clicked: bool = False

    def flags(self) -> dict[str, bool]:
        e = self.events
        return {
            "human_opened": self.human_opened,
            "human_clicked": self.human_clicked,
            "suppressed": self.suppressed,
            "reputation_bounced": self.reputation_bounced,
            "sent": any(k not in ("reject", "rendering_failure") for k in e),
            "delivered": e["delivery"] > 0,
            "bounced": e["bounce"] > 0,
            "hard_bounced": self.hard,
            "soft_bounced": self.transient and not self.hard,
            "complained": e["complaint"] > 0,
            "rejected": e["reject"] > 0,
            "delayed": e["delivery_delay"] > 0,
            "opened": e["open"] + e["click"] > 0,
            "clicked": e["click"] > 0,
            "unsubscribed": self.opted_out,
        }


@dataclass
class Truth:
    """What the views must report, worked out while generating."""

    pairs: dict[tuple[str, str], Pair] = field(default_factory=dict)
    requested: dict[str, Counter[str]] = field(default_factory=dict)  # region -> pairs
    unique_events: int = 0  # rows of ses_events_unique
    published_rows: int = 0  # rows of ses_events: the unique ones and every redelivered copy

    def by_region(self) -> dict[str | None, dict[str, int]]:
        out: dict[str | None, dict[str, int]] = {}
        for region, counts in self.requested.items():
            out.setdefault(region, dict.fromkeys(("requested", *FLAGS), 0))
            out[region]["requested"] += sum(counts.values())
        for pair in self.pairs.values():
            row = out.setdefault(pair.region, dict.fromkeys(("requested", *FLAGS), 0))
            for name, value in pair.flags().items():
                row[name] += value
        return out

    def by_day(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for pair in self.pairs.values():
            day = pair.sent_at.date().isoformat()
            row = out.setdefault(
                day,
                dict.fromkeys(
                    (
                        "sent",
                        "delivered",
                        "bounced",
                        "hard_bounced",
                        "suppressed",
                        "reputation_bounced",
                        "complained",
                    ),
                    0,
                ),
            )
            flags = pair.flags()
            for name in row:
                row[name] += flags[name]
        return out

    def opened_not_clicked(self) -> int:
        """Pairs a person opened and no person clicked."""
        return sum(1 for p in self.pairs.values() if p.human_opened and not p.human_clicked)

    def by_provider(self) -> dict[str, dict[str, int]]:
        return self._by(lambda pair: pair.provider)

    def by_tenant(self) -> dict[str | None, dict[str, int]]:
        return self._by(lambda pair: pair.tenant)

    def _by(self, key: Callable[[Pair], Any]) -> dict[Any, dict[str, int]]:
        out: dict[Any, dict[str, int]] = {}
        for pair in self.pairs.values():
            row = out.setdefault(
                key(pair), dict.fromkeys(("sent", "human_opened", "suppressed"), 0)
            )
            flags = pair.flags()
            for name in row:
                row[name] += flags[name]
        return out


@dataclass
class Traffic:
    """The SES records in the order SES publishes them, the internal rows, and the truth."""

    records: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    truth: Truth
    messages: int


_KIND_OF_DOMAIN = {domain: kind for kind, (_, _, domains) in DOMAINS.items() for domain in domains}


def _kind(address: str) -> str:
    """Which DOMAINS entry an address is at."""
    return _KIND_OF_DOMAIN.get(address.rsplit("@", 1)[1], "other")


def _provider(address: str, delivered: bool) -> str:
    """The mailbox provider the views will name for an address: a company domain's host shows
    only in the MX of a delivery."""
    kind = _kind(address)
    if kind in PROVIDER_OF:
        return PROVIDER_OF[kind] if delivered else "other"
    return kind


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Generator:
    def __init__(self, seed: int, start: datetime) -> None:
        self.start = start
        self.rng = random.Random(seed)
        self.templates = {
            kind: orjson.loads((SAMPLES / name).read_bytes()) for kind, name in _TEMPLATES.items()
        }
        # Copies are made by parsing these again: several times faster than deepcopy.
        self.template_bytes = {kind: orjson.dumps(t) for kind, t in self.templates.items()}
        self.mail_bytes = orjson.dumps(self.templates["Send"]["mail"])
        self.truth = Truth()
        # (arrival, order, record, rows it makes)
        self.timeline: list[tuple[datetime, int, dict[str, Any], int]] = []

    def address(self, index: int) -> str:
        rng = random.Random(index * 7919 + 17)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        kind = rng.choices(list(DOMAINS), weights=[share for _, share, _ in DOMAINS.values()])[0]
        return f"{first}.{last}{index}@{rng.choice(DOMAINS[kind][2])}"

    def record(
        self, kind: str, mail: dict[str, Any], body: dict[str, Any] | None, at: datetime, rows: int
    ) -> dict[str, Any]:
        record: dict[str, Any] = orjson.loads(self.template_bytes[kind])
        record["mail"] = mail
        key = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}.get(
            kind, kind[0].lower() + kind[1:]
        )
        if body is not None:
            record[key].update(body)
            if "timestamp" in record[key]:
                record[key]["timestamp"] = _iso(at)
        # Arrival: mostly soon after the event, some minutes or days late (out of order).
        lag = timedelta(seconds=self.rng.expovariate(1 / 20))
        if self.rng.random() < 0.02:
            lag += timedelta(days=self.rng.uniform(1, 4))
        self.timeline.append((at + lag, len(self.timeline), record, rows))
        return record

    def mail(
        self,
        message_id: str,
        destination: list[str],
        sent_at: datetime,
        email_type: str,
        campaign: str | None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        mail: dict[str, Any] = orjson.loads(self.mail_bytes)
        sender = "no-reply@shop.example.com"
        subject = {
            "receipt": "Your receipt",
            "newsletter": "This week at Example Shop",
            "password_reset": "Reset your password",
            "promotion": "Offers picked for you",
        }[email_type]
        mail.update(
            {
                "timestamp": _iso(sent_at),
                "messageId": message_id,
                "destination": destination,
                "source": sender,
                "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop.example.com",
            }
        )
        mail["headers"] = [
            {"name": "From", "value": f"Example Shop <{sender}>"},
            {"name": "To", "value": ", ".join(destination)},
            {"name": "Subject", "value": subject},
            {"name": "MIME-Version", "value": "1.0"},
        ]
        mail["commonHeaders"] = {
            "from": [f"Example Shop <{sender}>"],
            "to": destination,
            "messageId": message_id,
            "subject": subject,
        }
        tags: dict[str, list[str]] = {
            "ses:configuration-set": ["seslake"],
            "ses:source-ip": ["192.0.2.10"],
            "ses:from-domain": ["shop.example.com"],
            "ses:caller-identity": ["mailer"],
            "email_type": [email_type],
        }
        if campaign:
            tags["campaign"] = [campaign]
        if tenant:
            tags["ses:tenant-name"] = [tenant]
        mail["tags"] = tags
        return mail

    def event(
        self,
        pairs: list[Pair],
        kind: str,
        mail: dict[str, Any],
        body: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        """One SES event about `pairs` (one row each), recorded in the truth."""
        self.record(kind, mail, body, at, rows=len(pairs))
        name = {"Rendering Failure": "rendering_failure", "DeliveryDelay": "delivery_delay"}.get(
            kind, kind.lower()
        )
        for pair in pairs:
            pair.events[name] += 1
        self.truth.unique_events += len(pairs)

    def message(self, number: int, recipients_pool: int) -> None:
        rng = self.rng
        message_id = f"0100019{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}-{number:06d}-000000"
        count = 1 if rng.random() < 0.95 else rng.choice((2, 3))
        destination = [self.address(rng.randrange(recipients_pool)) for _ in range(count)]
        destination = list(dict.fromkeys(destination))
        region = rng.choices(list(REGIONS), weights=list(REGIONS.values()))[0]
        email_type = rng.choices(list(EMAIL_TYPES), weights=list(EMAIL_TYPES.values()))[0]
        campaign = rng.choice(CAMPAIGNS[email_type]) if email_type in CAMPAIGNS else None
        tenant = rng.choices(
            [*TENANTS, None], weights=[*TENANTS.values(), 1 - sum(TENANTS.values())]
        )[0]
        sent_at = self.start + timedelta(seconds=rng.uniform(0, 7 * 86400))
        sent_at = sent_at.replace(microsecond=sent_at.microsecond // 1000 * 1000)
        self.requests.append(
            {
                "message_id": message_id,
                "recipient": destination[0] if count == 1 else None,
                "request_time": _iso(sent_at - timedelta(milliseconds=rng.randrange(50, 900))),
                "region": region,
                "email_type": email_type,
                "campaign": campaign or "",
                "customer_tier": rng.choice(TIERS),
            }
        )
        self.truth.requested.setdefault(region, Counter())[message_id] += len(destination)
        pairs = [
            Pair(
                message_id,
                r,
                region,
                email_type,
                sent_at,
                provider=_provider(r, delivered=False),
                tenant=tenant,
            )
            for r in destination
        ]
        for pair in pairs:
            self.truth.pairs[(message_id, pair.recipient)] = pair
        mail = self.mail(message_id, destination, sent_at, email_type, campaign, tenant)
        roll = rng.random()
        if roll < 0.004:
            self.event(pairs, "Reject", mail, {"reason": "Bad content"}, sent_at)
            return
        if roll < 0.006:
            body = {
                "templateName": f"{email_type}_v2",
                "errorMessage": "Attribute 'first_name' is not present in the rendering data.",
            }
            self.event(pairs, "Rendering Failure", mail, body, sent_at)
            return
        self.event(pairs, "Send", mail, {}, sent_at)
        for pair in pairs:
            self.fate(pair, mail, sent_at, engage=count == 1)

    def fate(self, pair: Pair, mail: dict[str, Any], sent_at: datetime, engage: bool) -> None:
        rng = self.rng
        at = sent_at + timedelta(seconds=rng.lognormvariate(0.8, 0.7))
        roll = rng.random()
        delivered_at: datetime | None = None
        if roll < 0.02:  # hard bounce
            self.bounce(pair, mail, "Permanent", rng.choice(HARD_SUBTYPES), at)
            return
        if roll < 0.035:  # soft bounce, then most are delivered on retry
            self.bounce(pair, mail, "Transient", rng.choice(SOFT_SUBTYPES), at)
            if rng.random() < 0.6:
                delivered_at = at + timedelta(minutes=rng.uniform(5, 240))
        elif roll < 0.06:  # delayed, then mostly delivered
            for i in range(rng.choice((1, 1, 2, 3))):
                self.delay(pair, mail, at + timedelta(minutes=30 * i))
            if rng.random() < 0.85:
                delivered_at = at + timedelta(hours=rng.uniform(1, 20))
        else:
            delivered_at = at
        if delivered_at is None:
            return
        body = {
            "recipients": [pair.recipient],
            "processingTimeMillis": int((delivered_at - sent_at).total_seconds() * 1000),
            "smtpResponse": DOMAINS[_kind(pair.recipient)][0],
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
        self.event([pair], "Delivery", mail, body, delivered_at)
        pair.provider = _provider(pair.recipient, delivered=True)
        if rng.random() < 0.003:  # accepted, then bounced by the receiving domain
            self.bounce(
                pair,
                mail,
                "Permanent",
                "General",
                delivered_at + timedelta(minutes=rng.uniform(1, 90)),
            )
            return
        if rng.random() < 0.001:
            self.complaint(pair, mail, delivered_at + timedelta(hours=rng.uniform(1, 72)))
        if engage:
            self.engage(pair, mail, delivered_at)

    def engage(self, pair: Pair, mail: dict[str, Any], delivered_at: datetime) -> None:
        """Machines first (a security gateway in the first seconds, Apple's proxy within 20
        minutes, a bot now and then), then, from 25 minutes on, the person. The windows never
        overlap, so every open and click is what the engagement view will judge it."""
        rng = self.rng
        kind = _kind(pair.recipient)
        if kind in ("workspace", "m365") and rng.random() < SCANNED_SHARE:
            burst = delivered_at + timedelta(seconds=rng.uniform(1, 4))
            # Half the gateways say who they are; the others pass for a browser (timing tells).
            agent = SCANNER if rng.random() < 0.5 else rng.choice(AGENTS)
            body = {"ipAddress": "203.0.113.9", "userAgent": agent}
            self.event([pair], "Open", mail, body, burst)
            for i, link in enumerate(rng.sample(LINKS, rng.choice((2, 3)))):
                self.click(pair, mail, burst + timedelta(milliseconds=300 * (i + 1)), link, agent)
        if kind == "apple" or rng.random() < APPLE_MAIL_SHARE:
            body = {"ipAddress": "17.58.0.1", "userAgent": APPLE_PROXY}
            self.event(
                [pair], "Open", mail, body, delivered_at + timedelta(seconds=rng.uniform(30, 1200))
            )
        if rng.random() < 0.01:
            at = delivered_at + timedelta(seconds=rng.uniform(1210, 1390))
            self.click(pair, mail, at, rng.choice(LINKS), BOT)
        self.person(pair, mail, delivered_at + timedelta(seconds=1500), kind)

    def person(self, pair: Pair, mail: dict[str, Any], start: datetime, kind: str) -> None:
        rng = self.rng
        if rng.random() >= OPEN_RATE[pair.email_type]:
            if rng.random() < 0.015:  # clicked with images blocked: no open recorded
                self.click(pair, mail, start + timedelta(minutes=rng.uniform(1, 600)))
                pair.human_opened = pair.human_clicked = True
            return
        first = start + timedelta(seconds=rng.expovariate(1 / 14400))
        opens = 1
        while rng.random() < 0.35 and opens < 6:
            opens += 1
        for i in range(opens):
            later = (
                timedelta(days=rng.uniform(3, 40))
                if rng.random() < 0.03
                else timedelta(hours=rng.expovariate(1 / 10) * i)
            )
            body = {
                "ipAddress": f"198.51.100.{rng.randrange(1, 255)}",
                # Gmail shows images through its proxy, as the person reads.
                "userAgent": GMAIL_PROXY if kind == "google" else rng.choice(AGENTS),
            }
            self.event([pair], "Open", mail, body, first + later)
        pair.human_opened = True
        if rng.random() < 0.25:
            at = first
            for _ in range(rng.choice((1, 1, 2, 3))):
                at += timedelta(seconds=rng.uniform(30, 600))  # a person's clicks, apart
                self.click(pair, mail, at)
            pair.human_clicked = True
        if pair.email_type in ("newsletter", "promotion"):
            roll = rng.random()
            if roll < 0.03:
                self.subscription(
                    pair,
                    mail,
                    first + timedelta(minutes=rng.uniform(1, 30)),
                    unsubscribe_all=rng.random() < 0.5,
                    status="OptOut",
                )
            elif roll < 0.04:
                self.subscription(
                    pair,
                    mail,
                    first + timedelta(minutes=rng.uniform(1, 30)),
                    unsubscribe_all=False,
                    status="OptIn",
                )
        if rng.random() < 0.004:
            self.complaint(pair, mail, first + timedelta(hours=rng.uniform(1, 48)))

    def bounce(
        self, pair: Pair, mail: dict[str, Any], kind: str, subtype: str, at: datetime
    ) -> None:
        status, code = (
            ("5.1.1", "smtp; 550 5.1.1 user unknown")
            if kind == "Permanent"
            else ("4.2.2", "smtp; 452 4.2.2 mailbox temporarily unavailable")
        )
        body = {
            "bounceType": kind,
            "bounceSubType": subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": pair.recipient,
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": code,
                }
            ],
            "feedbackId": f"0100019-{uuid.UUID(int=self.rng.getrandbits(128))}-000000",
            "reportingMTA": "dns; email.example.com",
        }
        self.event([pair], "Bounce", mail, body, at)
        pair.suppressed = pair.suppressed or subtype in ("Suppressed", "OnAccountSuppressionList")
        # SES does not count sends to your own suppression list in its bounce rate.
        pair.reputation_bounced = pair.reputation_bounced or (
            kind == "Permanent" and subtype != "OnAccountSuppressionList"
        )
        pair.hard = pair.hard or kind == "Permanent"
        pair.transient = pair.transient or kind == "Transient"

    def delay(self, pair: Pair, mail: dict[str, Any], at: datetime) -> None:
        body = {
            "delayType": self.rng.choice(DELAY_TYPES),
            "expirationTime": _iso(at + timedelta(hours=24)),
            "delayedRecipients": [
                {
                    "emailAddress": pair.recipient,
                    "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 try again later",
                }
            ],
        }
        self.event([pair], "DeliveryDelay", mail, body, at)

    def complaint(self, pair: Pair, mail: dict[str, Any], at: datetime) -> None:
        body = {
            "complainedRecipients": [{"emailAddress": pair.recipient}],
            "feedbackId": f"0100019-{uuid.UUID(int=self.rng.getrandbits(128))}-000000",
            "complaintFeedbackType": self.rng.choice(COMPLAINT_TYPES),
            "arrivalDate": _iso(at),
        }
        self.event([pair], "Complaint", mail, body, at)

    def click(
        self,
        pair: Pair,
        mail: dict[str, Any],
        at: datetime,
        link: str | None = None,
        agent: str | None = None,
    ) -> None:
        body = {
            "ipAddress": f"198.51.100.{self.rng.randrange(1, 255)}",
            "link": link or self.rng.choice(LINKS),
            "linkTags": {"placement": ["body"]},
            "userAgent": agent or self.rng.choice(AGENTS),
        }
        self.event([pair], "Click", mail, body, at)

    def subscription(
        self, pair: Pair, mail: dict[str, Any], at: datetime, unsubscribe_all: bool, status: str
    ) -> None:
        body = {
            "contactList": "customers",
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {
                "unsubscribeAll": unsubscribe_all,
                "topicSubscriptionStatus": [
                    {"topicName": pair.email_type, "subscriptionStatus": status}
                ],
            },
            "oldTopicPreferences": {
                "unsubscribeAll": False,
                "topicSubscriptionStatus": [
                    {"topicName": pair.email_type, "subscriptionStatus": "OptIn"}
                ],
            },
        }
        self.event([pair], "Subscription", mail, body, at)
        pair.opted_out = pair.opted_out or unsubscribe_all or status == "OptOut"

    requests: list[dict[str, Any]]


def generate(messages: int = 10_000, seed: int = 1, start: datetime | None = None) -> Traffic:
    """`messages` messages to about as many recipients over a week from `start` (by default a
    Monday eight weeks back), and their events. The same seed gives the same traffic, shifted
    to its start.

    About 1% of events are published twice (SES and SNS deliver at least once); about 2% arrive
    days late; 25 requested messages (or 0.25%) have no event yet.
    """
    generator = _Generator(seed, start or default_start())
    generator.requests = []
    for number in range(messages):
        generator.message(number, recipients_pool=3 * messages)
    unsent = max(1, messages // 400)
    for number in range(unsent):
        message_id = (
            f"0100019{uuid.UUID(int=generator.rng.getrandbits(128)).hex[:24]}-q{number:05d}-000000"
        )
        region = generator.rng.choice(list(REGIONS))
        generator.requests.append(
            {
                "message_id": message_id,
                "recipient": generator.address(3 * messages + number),
                "request_time": _iso(generator.start + timedelta(days=7, minutes=number)),
                "region": region,
                "email_type": "receipt",
                "campaign": "",
                "customer_tier": "pro",
            }
        )
        generator.truth.requested.setdefault(region, Counter())[message_id] += 1
    timeline = sorted(generator.timeline, key=lambda item: (item[0], item[1]))
    records = []
    for _, _, record, rows in timeline:
        records.append(record)
        generator.truth.published_rows += rows
        if generator.rng.random() < 0.01:
            records.append(record)  # delivered twice
            generator.truth.published_rows += rows
    return Traffic(records, generator.requests, generator.truth, messages)
