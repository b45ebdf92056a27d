"""Erasing people: every row, file and object that holds an address, rewritten without it.

What an address leaves, and what erasing does to it (docs/erasure.md):
- `ses_events` and `ses_requests` (Parquet): the rows whose `recipient` is the address are
  removed. Other rows that mention it (other recipients of the same message: `destination`,
  the headers in `raw`) are scrubbed: a list loses the elements that are the address, and any
  other text that contains it (a `To:` header, a subject) becomes `[erased]`, inside `raw`'s JSON
  as in plain columns.
- quarantine entries whose payload mentions it are removed.
- raw Firehose objects lose every record that mentions it (plain or gzip, as they were).
- In a versioned bucket, the noncurrent versions of each rewritten object are deleted.

Each rewrite replaces a file only if it is unchanged since it was read (`Lake.replace`); if
ingest or compaction wrote it meanwhile, it is read again and erased again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ChangedError
from .lake import Lake
from .normalize import bare_address
from .sources import map_batch_items
from .stream import decompressed, split_json
from .writer import PARQUET_OPTIONS, QUARANTINE_PREFIX

ERASED = "[erased]"
#: Attempts at a rewrite that keeps finding its file changed by another writer.
ATTEMPTS = 5
TABLES = ("ses_events/", "ses_requests/")


def normalized(addresses: Iterable[str]) -> frozenset[str]:
    """Addresses as seslake stores them: bare and lowercased."""
    found = frozenset(bare_address(a) for a in addresses if a.strip())
    if not found or any("@" not in a for a in found):
        raise ValueError("give email addresses to erase, like someone@example.com")
    return found


def digest(address: str) -> str:
    """What the audit record keeps of an address: its SHA-256, never the address."""
    return hashlib.sha256(bare_address(address).encode()).hexdigest()


def mentions(text: str | bytes, addresses: frozenset[str]) -> bool:
    lowered = (text.decode("utf-8", "replace") if isinstance(text, bytes) else text).lower()
    return any(address in lowered for address in addresses)


def scrub(value: Any, addresses: frozenset[str]) -> Any:
    """`value` (JSON-like, or a Parquet cell) without the addresses: list elements that are one
    are dropped, any other text containing one becomes ERASED."""
    if isinstance(value, str):
        return ERASED if mentions(value, addresses) else value
    if isinstance(value, dict):
        return {k: scrub(v, addresses) for k, v in value.items()}
    if isinstance(value, list | tuple):
        kept = [
            scrub(v, addresses)
            for v in value
            if not (isinstance(v, str) and bare_address(v) in addresses)
        ]
        return tuple(kept) if isinstance(value, tuple) else kept
    return value


def _scrub_cell(name: str, value: Any, addresses: frozenset[str]) -> Any:
    if name == "raw" and isinstance(value, str) and mentions(value, addresses):
        try:
            return orjson.dumps(scrub(orjson.loads(value), addresses)).decode()
        except orjson.JSONDecodeError:
            return ERASED
    return scrub(value, addresses)


@dataclass
class Erased:
    """What an erasure changed (or, in a dry run, would change)."""

    rows_removed: int = 0
    rows_scrubbed: int = 0
    files_rewritten: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    quarantine_entries_removed: int = 0
    raw_records_removed: int = 0
    versions_deleted: int = 0

    def add(self, other: Erased) -> None:
        self.rows_removed += other.rows_removed
        self.rows_scrubbed += other.rows_scrubbed
        self.files_rewritten += other.files_rewritten
        self.files_deleted += other.files_deleted
        self.quarantine_entries_removed += other.quarantine_entries_removed
        self.raw_records_removed += other.raw_records_removed
        self.versions_deleted += other.versions_deleted

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_removed": self.rows_removed,
            "rows_scrubbed": self.rows_scrubbed,
            "files_rewritten": len(self.files_rewritten),
            "files_deleted": len(self.files_deleted),
            "quarantine_entries_removed": self.quarantine_entries_removed,
            "raw_records_removed": self.raw_records_removed,
            "versions_deleted": self.versions_deleted,
        }


def _erase_table(table: pa.Table, addresses: frozenset[str]) -> tuple[pa.Table, int, int]:
    """The table without the addresses' rows and with other rows scrubbed; (table, removed,
    scrubbed)."""
    kept, removed, scrubbed = [], 0, 0
    for row in table.to_pylist():
        recipient = row.get("recipient")
        if isinstance(recipient, str) and bare_address(recipient) in addresses:
            removed += 1
            continue
        clean = {name: _scrub_cell(name, value, addresses) for name, value in row.items()}
        scrubbed += clean != row
        kept.append(clean)
    return pa.Table.from_pylist(kept, schema=table.schema), removed, scrubbed


def _erase_parquet(data: bytes, addresses: frozenset[str]) -> tuple[bytes | None, Erased]:
    table = pq.read_table(io.BytesIO(data), partitioning=None)
    erased, removed, scrubbed = _erase_table(table, addresses)
    change = Erased(rows_removed=removed, rows_scrubbed=scrubbed)
    if not removed and not scrubbed:
        return None, change
    if erased.num_rows == 0:
        return b"", change
    out = io.BytesIO()
    pq.write_table(erased, out, **PARQUET_OPTIONS)
    return out.getvalue(), change


def _erase_lines(data: bytes, addresses: frozenset[str]) -> tuple[bytes | None, Erased]:
    """A quarantine file (JSON lines): the entries that mention the addresses removed."""
    lines = data.splitlines(keepends=True)
    kept = [line for line in lines if not mentions(line, addresses)]
    change = Erased(quarantine_entries_removed=len(lines) - len(kept))
    if len(kept) == len(lines):
        return None, change
    return b"".join(kept), change


def _plain(data: bytes) -> bytes:
    """An object's bytes, gunzipped if gzip (with the ingest stream's inflation cap)."""
    return b"".join(decompressed([data]))


def _erase_raw(data: bytes, addresses: frozenset[str]) -> tuple[bytes | None, Erased]:
    """A raw Firehose object: its records that mention the addresses removed, the others kept
    one per line, compressed as it was."""
    packed = data[:2] == b"\x1f\x8b"
    text = _plain(data)
    if not mentions(text, addresses):
        return None, Erased()
    kept, removed = [], 0
    for piece in split_json(iter([text])):
        if mentions(piece.text, addresses):
            removed += 1
        else:
            kept.append(piece.text.strip())
    body = b"".join(line + b"\n" for line in kept)
    change = Erased(raw_records_removed=removed)
    if not kept:
        return b"", change
    return (gzip.compress(body) if packed else body), change


def _kind(key: str) -> str:
    if key.endswith(".parquet"):
        return "parquet"
    if key.startswith(QUARANTINE_PREFIX + "/") or "/" + QUARANTINE_PREFIX + "/" in key:
        return "quarantine"
    return "raw"


_REWRITERS = {"parquet": _erase_parquet, "quarantine": _erase_lines, "raw": _erase_raw}


def erase_object(lake: Lake, key: str, addresses: frozenset[str], dry_run: bool = False) -> Erased:
    """One file or object of the lake (or of the raw prefix), rewritten without the
    addresses; read again and redone if another writer changed it meanwhile."""
    rewrite = _REWRITERS[_kind(key)]
    for _ in range(ATTEMPTS):
        data, token = lake.read(key)
        new, change = rewrite(data, addresses)
        if new is None or dry_run:
            if new is not None:
                (change.files_deleted if new == b"" else change.files_rewritten).append(key)
            return change
        try:
            if new == b"":
                lake.replace(key, data, token)  # still unchanged: then it may go
                lake.delete([key])
                change.files_deleted.append(key)
            else:
                mark = "erase" if _kind(key) == "raw" else None  # ingest_s3 skips it
                lake.replace(key, new, token, mark)
                change.files_rewritten.append(key)
        except ChangedError:
            continue
        change.versions_deleted += lake.drop_old_versions(key)
        return change
    raise ChangedError(f"{lake.url(key)} kept changing while it was erased ({ATTEMPTS} attempts)")


def holding(lake: Lake, keys: Iterable[str], addresses: frozenset[str]) -> Iterator[str]:
    """The keys whose content mentions an address (Parquet read as rows, so compressed pages
    are searched too)."""
    for key in keys:
        data = lake.get_bytes(key)
        if _kind(key) == "parquet":
            table = pq.read_table(io.BytesIO(data), partitioning=None)
            found = any(
                mentions(orjson.dumps(row, default=str), addresses) for row in table.to_pylist()
            )
        else:
            found = mentions(_plain(data), addresses)
        if found:
            yield key


def audit_record(
    addresses: frozenset[str], change: Erased, remaining: int, when: str
) -> dict[str, Any]:
    """What is kept of an erasure: when, what changed, the addresses' SHA-256, what is left."""
    return {
        "erased_at": when,
        "address_sha256": sorted(digest(a) for a in addresses),
        **change.as_dict(),
        "remaining": remaining,
    }


def request_addresses(lake: Lake, key: str) -> frozenset[str]:
    """The addresses of an erasure request object (`{"addresses": [...]}`): kept in the
    bucket for the run, so they never appear in a state machine's input or history."""
    request = orjson.loads(lake.get_bytes(key))
    return normalized(request["addresses"])


def map_batch(event: dict[str, Any], lake: Lake) -> Erased:
    """One batch of the erase state machine's maps: `{"Items": [{"key"} or {"Key"}],
    "BatchInput": {"request": key}}`, keys of the bucket the lake is rooted at."""
    items, request = map_batch_items(event, "request")
    addresses = request_addresses(lake, request)
    total = Erased()
    for item in items:
        total.add(erase_object(lake, str(item.get("key") or item["Key"]), addresses))
    return total
