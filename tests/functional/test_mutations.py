"""Every AWS sample, mutated at random (seeded): whatever the values, ingest never raises and
every payload ends up either as rows or in quarantine with a reason, never both, never neither.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from seslake.ingest import UNFORESEEN, Ingestor
from seslake.lake import LocalLake
from tests.conftest import SES, read_quarantine

SAMPLES = [
    orjson.loads(p.read_bytes())
    for folder in ("publishing", "notifications")
    for p in sorted((SES / folder).glob("*.json"))
]
#: Values JSON allows that SES never sends: wrong types, edges of numbers, time and text.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**20,
    -(10**19),
    1e300,
    "",
    "x",
    "99999999999999999999999999",
    "2020-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-01:00",
    [],
    [1],
    ["A@B.example"],
    [None],
    {},
    {"a": 1},
    {"a": [1, None]},
    [{"emailAddress": 5}],
    "\u0000\u2028",
    "é" * 3,
]


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def mutated(
    rng: random.Random, originals: list[dict[str, Any]], odd_values: list[Any] = ODD_VALUES
) -> dict[str, Any]:
    """A copy of one of `originals` with one to three odd values put anywhere in it."""
    record: dict[str, Any] = copy.deepcopy(rng.choice(originals))
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(list(_paths(record)))
        parent: Any = record
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = copy.deepcopy(rng.choice(odd_values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced part of the path
    return record


def unforeseen(ingestor: Ingestor) -> list[str]:
    return [r for r in ingestor.stats.quarantine_reasons if r.startswith("unforeseen")]


@pytest.mark.parametrize("seed", range(4))
def test_mutated_samples_are_rows_or_quarantined_never_an_error(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lake = LocalLake(tmp_path)
    origins = []
    for batch in range(10):
        ingestor = Ingestor(lake)
        for i in range(60):
            origin = f"mutation:{seed}:{batch}:{i}"
            text = json.dumps(mutated(rng, SAMPLES), ensure_ascii=False)  # big ints too
            ingestor.add_payload(text.encode(), origin)
            origins.append(origin)
        written = ingestor.commit()
        assert not written.failed
    stored = set()
    for path in tmp_path.rglob("*.parquet"):
        stored |= set(pq.read_table(path, columns=["ingest_source"]).column(0).to_pylist())
    quarantined = [entry["origin"] for entry in read_quarantine(tmp_path)]
    assert len(quarantined) == len(set(quarantined))  # one entry per bad payload
    assert stored.isdisjoint(quarantined)
    assert stored | set(quarantined) == set(origins)
    assert stored and quarantined  # the mutations do both
    reasons = [entry["reason"] for entry in read_quarantine(tmp_path)]
    assert not [r for r in reasons if r.startswith(UNFORESEEN)]


ENVELOPES = [
    orjson.loads(p.read_bytes())
    for folder in ("envelopes", "eventbridge")
    for p in sorted((SES / folder).glob("*.json"))
]


@pytest.mark.parametrize("seed", range(3))
def test_mutated_envelopes_never_raise(tmp_path: Path, seed: int) -> None:
    """SNS, SQS, Lambda and EventBridge envelopes with odd values anywhere, the SES record's
    JSON text included: each ends as rows or quarantine entries, with no unforeseen error."""
    rng = random.Random(seed)
    odd_texts = ['{"eventType": "Send"}', "{", "[]", "null"]
    for batch in range(8):
        ingestor = Ingestor(LocalLake(tmp_path / str(batch)))
        for i in range(60):
            envelope = mutated(rng, ENVELOPES, ODD_VALUES + odd_texts)
            text = json.dumps(envelope, ensure_ascii=False)
            ingestor.add_payload(text.encode(), f"envelope:{seed}:{batch}:{i}")
        written = ingestor.commit()
        assert not written.failed
        assert written.rows + written.quarantined > 0
        assert not unforeseen(ingestor)


@pytest.mark.parametrize("seed", range(3))
def test_firehose_objects_with_flipped_bytes_never_raise(tmp_path: Path, seed: int) -> None:
    """A Firehose object damaged anywhere (flipped bytes, cut short): the readable records are
    rows, the rest quarantined."""
    rng = random.Random(seed)
    original = (SES / "envelopes/firehose-batch.txt").read_bytes()
    for number in range(40):
        data = bytearray(original)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        ingestor = Ingestor(LocalLake(tmp_path / str(number)))
        ingestor.add_stream([bytes(data)], f"s3://raw/object-{number}")
        written = ingestor.commit()
        assert not written.failed
        assert written.rows + written.quarantined > 0 or not data.strip()
        assert not unforeseen(ingestor)
