"""event_id: the same SES event always gets the same id; different events never share one."""

from __future__ import annotations

import copy
import json
from typing import Any

from seslake.normalize import normalize
from tests.conftest import load_event


def ids(record: dict[str, Any]) -> list[str]:
    _, rows = normalize(record, "test", 0)
    from seslake.normalize import _INDEX

    return [row[_INDEX["event_id"]] for _, row in rows]


def test_same_record_same_id_whatever_the_origin_or_time_of_ingest() -> None:
    click = load_event("ses/publishing/click.json")
    _, a = normalize(click, "sqs:1", 0)
    _, b = normalize(copy.deepcopy(click), "s3://b/k", 99)
    assert a[0][1][0] == b[0][1][0]


def test_two_clicks_on_different_links_differ() -> None:
    click = load_event("ses/publishing/click.json")
    other = copy.deepcopy(click)
    other["click"]["link"] = "https://example.com/other"
    assert ids(click) != ids(other)


def test_two_opens_at_different_times_differ() -> None:
    first = load_event("ses/publishing/open.json")
    second = copy.deepcopy(first)
    second["open"]["timestamp"] = "2017-08-09T22:05:00.000Z"
    assert ids(first) != ids(second)


def test_recipients_of_one_delivery_differ() -> None:
    delivery = load_event("ses/publishing/delivery.json")
    delivery["delivery"]["recipients"] = ["a@example.com", "b@example.com"]
    first, second = ids(delivery)
    assert first != second


def test_same_bounce_in_both_formats_is_one_event() -> None:
    published = load_event("ses/publishing/bounce-permanent.json")
    notified = copy.deepcopy(published)
    del notified["eventType"]
    notified["notificationType"] = "Bounce"
    assert ids(published) == ids(notified)


def test_timestamp_spelling_does_not_change_the_id() -> None:
    a = load_event("ses/publishing/delivery.json")
    b = json.loads(
        json.dumps(a).replace("2016-10-19T23:21:04.133Z", "2016-10-19T23:21:04.133+00:00")
    )
    assert ids(a) == ids(b)
