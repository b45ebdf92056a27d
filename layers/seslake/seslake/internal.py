"""The company's own data, `ses_requests`: one row per message it asked SES to send.

Internal files (CSV, JSON lines or Parquet) become one Parquet file each under
`<lake>/ses_requests/`, named after the whole source (its path or S3 key and version, and a
digest of its content): two files never overwrite each other, and loading the very same file
again rewrites the same output. Every row records when and from where it was loaded
(`loaded_at`, `loaded_from`), and the views read each request as its latest load gave it
(`ses_requests_current`). Every column is kept; names are lowercased to Athena's `snake_case`;
`message_id` is required on every row, `recipient`, `request_time` and `region` always exist
(NULL when the file has none). A `recipient` holding a list of addresses (the mail's `to`)
becomes one row per address.

A CSV cell is kept as the text it is (`NA`, `null`, `000123` and a 20-digit id included): only
an empty cell is missing, and a column has another type only when it is declared
(`customer_id=bigint`). JSON lines and Parquet keep the types they carry.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .catalog import glue_type
from .errors import BadRecordError, CatalogError, InternalFileError
from .lake import Lake, parquet_schema
from .normalize import bare_address
from .schema import REQUEST_KEY_COLUMNS, REQUESTS_TABLE
from .timestamps import to_epoch_ms
from .views import load_views

if TYPE_CHECKING:
    from .sources import S3Object

_KEY_TYPES = {c.name: c.arrow for c in REQUEST_KEY_COLUMNS}
#: Names seslake gives columns of its own: a company column may not take them.
RESERVED_COLUMNS = ("loaded_at", "loaded_from", "load_rank")
_NAME = re.compile(r"[^0-9a-z_]+")

#: Glue's limit on a column name's length.
MAX_COLUMN_NAME = 255
#: Athena's limit on a statement's length: message_facts lists every internal column.
MAX_STATEMENT_BYTES = 262_144
#: Types a CSV column can be declared as, by their Glue names.
DECLARABLE_TYPES = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("ms"),
    "date": pa.date32(),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Source:
    """An internal file to load: where it is here, and what it is called for good (a path, or
    `s3://bucket/key?versionId=...`), which names its output and its rows' `loaded_from`."""

    path: Path
    name: str

    @classmethod
    def of(cls, path: Path) -> Source:
        return cls(path, str(path.resolve()))


@dataclass(frozen=True)
class Rejected:
    """A row that was not loaded: where it is and why."""

    file: str
    line: int
    reason: str
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class LoadStats:
    files: int = 0
    rows: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "rows": self.rows,
            "rejected": len(self.rejected),
            "columns": self.columns,
        }


def parse_types(spec: str) -> dict[str, str]:
    """`customer_id=bigint,request_time=timestamp` as {column: type}; a clear error otherwise."""
    declared: dict[str, str] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, kind = item.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in DECLARABLE_TYPES:
            raise InternalFileError(
                f"cannot read the column type {item!r}: write name=type with a type among "
                + ", ".join(sorted(DECLARABLE_TYPES))
            )
        declared[column_name(name)] = kind
    if declared.get("request_time", "timestamp") != "timestamp":
        raise InternalFileError("request_time is always a timestamp")
    return declared


def column_name(name: str) -> str:
    """An internal column name as Athena spells it: `Email Type` -> `email_type`."""
    cleaned = _NAME.sub("_", name.strip().lower()).strip("_")
    return cleaned or "column"


def _sniff(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix == ".parquet":
        return "parquet"
    if suffix in (".json", ".jsonl", ".ndjson") or head.lstrip()[:1] == b"{":
        return "jsonl"
    return "csv"


def _json_cell(name: str, value: object) -> object:
    """A JSON value as a cell: nested values as JSON text, except a recipient list, which stays
    a list (one row per address later)."""
    if isinstance(value, list) and column_name(name) == "recipient":
        return value
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else value


def _read_jsonl(path: Path) -> tuple[pa.Table, list[int]]:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise InternalFileError(f"{path}:{number}: not JSON ({error})") from None
            if not isinstance(value, dict):
                raise InternalFileError(f"{path}:{number}: expected a JSON object per line")
            rows.append({k: _json_cell(k, v) for k, v in value.items()})
            lines.append(number)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {n: [row.get(n) for row in rows] for n in names}
    try:
        table = pa.table({n: pa.array(v) for n, v in columns.items()})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InternalFileError(f"{path}: a column mixes types ({error})") from None
    return table, lines


def _kind(path: Path) -> str:
    """parquet, jsonl or csv, by the file's first bytes and its name."""
    with path.open("rb") as handle:
        return _sniff(path, handle.read(64))


def _read(path: Path) -> tuple[pa.Table, list[int]]:
    """The file as a table, and the line (or row) number of each row."""
    kind = _kind(path)
    try:
        if kind == "parquet":
            table = pq.read_table(path)
            return table, list(range(1, table.num_rows + 1))
        if kind == "jsonl":
            return _read_jsonl(path)
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        # Every cell is text as written; only an empty cell is missing. pyarrow would otherwise
        # read NA, N/A, null, NaN... as missing and 000123 as the number 123.
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        table.column_names  # noqa: B018 - the header is not checked for UTF-8 until read
        # Line 1 is the header: row n is on line n + 1 (quoted line breaks aside).
        return table, list(range(2, table.num_rows + 2))
    except UnicodeDecodeError as error:
        raise InternalFileError(f"{path}: cannot be read as {kind} (not UTF-8: {error})") from None
    except (pa.ArrowException, OSError) as error:
        raise InternalFileError(f"{path}: cannot be read as {kind} ({error})") from None


def _renamed(table: pa.Table, path: Path) -> pa.Table:
    names = [column_name(n) for n in table.column_names]
    seen: dict[str, str] = {}
    for raw, name in zip(table.column_names, names, strict=True):
        if name in seen:
            raise InternalFileError(
                f"{path}: columns {seen[name]!r} and {raw!r} both become {name!r}"
            )
        seen[name] = raw
    return table.rename_columns(names)


def _timestamp_column(values: pa.ChunkedArray, path: Path) -> tuple[pa.Array, dict[int, str]]:
    """request_time as UTC milliseconds; rows it cannot read are returned with the reason."""
    bad: dict[int, str] = {}
    if pa.types.is_timestamp(values.type):
        if values.type.tz is not None:
            values = pc.cast(values, pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms"))
        return pc.cast(values, pa.timestamp("ms")).combine_chunks(), bad
    if pa.types.is_date(values.type):
        return pc.cast(values, pa.timestamp("ms")).combine_chunks(), bad
    if not (pa.types.is_string(values.type) or pa.types.is_null(values.type)):
        raise InternalFileError(f"{path}: request_time is {values.type}, expected timestamps")
    out: list[int | None] = []
    for index, value in enumerate(values.to_pylist()):
        if value is None or not str(value).strip():
            out.append(None)
            continue
        try:
            out.append(to_epoch_ms(str(value).strip(), "request_time"))
        except BadRecordError as error:
            bad[index] = str(error)
            out.append(None)
    return pa.array(out, pa.timestamp("ms")), bad


def _clean(
    name: str, values: pa.ChunkedArray, path: Path
) -> tuple[pa.Array | pa.ChunkedArray, dict[int, str]]:
    """One column with its sensible type, and the rows it cannot read (index -> reason)."""
    if name in ("message_id", "region"):
        return pc.utf8_trim_whitespace(values.cast(pa.string())), {}
    if name == "recipient":
        addresses = [bare_address(v) if v else None for v in values.cast(pa.string()).to_pylist()]
        return pa.array(addresses, pa.string()), {}
    if name == "request_time":
        return _timestamp_column(values, path)
    if pa.types.is_null(values.type):
        return values.cast(pa.string()), {}
    if pa.types.is_timestamp(values.type):
        utc = pc.cast(values, pa.timestamp("ms", tz=values.type.tz))
        return utc.cast(pa.timestamp("ms")), {}
    return _athena_typed(values), {}


def _athena_typed(values: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A column Glue can name and the views can group: nested values (lists, maps, structs) as
    JSON text, as JSON lines keep them; bytes as base64; unsigned integers as bigint, or as
    text when one does not fit; any other type Glue has no name for as its text."""
    kind = values.type
    if pa.types.is_unsigned_integer(kind):
        try:
            return values.cast(pa.int64())
        except pa.ArrowInvalid:
            return values.cast(pa.string())
    try:
        glue_type(kind)  # every scalar type Glue names; nested ones it does not
        return values
    except CatalogError:
        pass
    items = values.to_pylist(maps_as_pydicts="lossy")
    if pa.types.is_nested(kind):
        texts = [None if v is None else orjson.dumps(v, default=_text).decode() for v in items]
    else:  # bytes, a time of day, a duration...: their text, not JSON
        texts = [None if v is None else _text(v) for v in items]
    return pa.array(texts, pa.string())


def _text(value: object) -> str:
    """A value JSON has no type for, as text: bytes in base64, anything else as str()."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)  # decimals, times of day, durations, ...


def _declared(table: pa.Table, lines: list[int], types: dict[str, str], path: Path) -> pa.Table:
    """The CSV's text columns converted to their declared types; one cell that does not fit
    refuses the whole file, naming its line and column."""
    for name, kind in types.items():
        if name not in table.column_names or kind in ("string", "timestamp"):
            continue  # timestamps: request_time's own parsing, which rejects rows one by one
        values = table.column(name).to_pylist()
        converted = []
        for index, text in enumerate(values):
            try:
                converted.append(None if text is None else _convert(text.strip(), kind))
            except ValueError:
                raise InternalFileError(
                    f"{path}:{lines[index]}: column {name}: {text!r} is not a {kind};"
                    " nothing of this file was loaded"
                ) from None
        position = table.column_names.index(name)
        table = table.set_column(position, name, pa.array(converted, DECLARABLE_TYPES[kind]))
    return table


def _convert(text: str, kind: str) -> object:
    if kind == "bigint":
        if not _INTEGER.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
            raise ValueError(text)
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "boolean":
        if text.lower() not in _BOOLEANS:
            raise ValueError(text)
        return _BOOLEANS[text.lower()]
    return date.fromisoformat(text)


def _check_limits(table: pa.Table, path: Path) -> None:
    """What Glue and Athena would refuse, refused before anything is written."""
    for name in table.column_names:
        if len(name) > MAX_COLUMN_NAME:
            raise InternalFileError(
                f"{path}: column name {name[:40]!r}... is {len(name)} characters;"
                f" Glue allows {MAX_COLUMN_NAME}"
            )
    for name in RESERVED_COLUMNS:
        if name in table.column_names:
            raise InternalFileError(
                f"{path}: column {name} is seslake's own (when and from where a row was"
                " loaded); rename it"
            )
    for name in ("message_id", "recipient", "region"):
        kind = table.schema.field(name).type if name in table.column_names else pa.string()
        if name == "recipient" and _is_address_list(kind):
            continue  # one row per address: see _one_row_per_recipient
        if pa.types.is_nested(kind):
            raise InternalFileError(
                f"{path}: column {name} holds {table.schema.field(name).type} values;"
                " it must hold one text value per row"
            )
    facts = next(v for v in load_views() if v.name == "message_facts")
    size = len(facts.statement(table.column_names).encode())
    if size > MAX_STATEMENT_BYTES:
        raise InternalFileError(
            f"{path}: {table.num_columns} columns make message_facts {size:,} bytes of SQL;"
            f" Athena allows {MAX_STATEMENT_BYTES:,}: load fewer columns"
        )


def _is_address_list(kind: pa.DataType) -> bool:
    list_kinds = (pa.types.is_list(kind), pa.types.is_large_list(kind))
    if not any(list_kinds):
        return False
    value = kind.value_type
    return bool(pa.types.is_string(value) or pa.types.is_null(value))


def _one_row_per_recipient(table: pa.Table, lines: list[int]) -> tuple[pa.Table, list[int]]:
    """A recipient column of lists (the mail's `to`) as one row per address; an empty or NULL
    list leaves one row without a recipient (a message-level row)."""
    if "recipient" not in table.column_names:
        return table, lines
    lists = table.column("recipient")
    if not _is_address_list(lists.type):
        return table, lines
    sizes = pc.fill_null(pc.list_value_length(lists), 0).to_pylist()
    parents: list[int] = []
    addresses: list[str | None] = []
    for index, (size, values) in enumerate(zip(sizes, lists.to_pylist(), strict=True)):
        for address in values if size else [None]:
            parents.append(index)
            addresses.append(address)
    exploded = table.take(pa.array(parents, pa.int64()))
    position = table.column_names.index("recipient")
    exploded = exploded.set_column(position, "recipient", pa.array(addresses, pa.string()))
    return exploded, [lines[i] for i in parents]


def prepare(path: Path, types: dict[str, str] | None = None) -> tuple[pa.Table, list[Rejected]]:
    """An internal file as the ses_requests rows it holds, and the rows it rejects.

    `types` declares the types of CSV columns (Glue names); every other CSV column is text.
    """
    table, lines = _read(path)
    table = _renamed(table, path)
    if "message_id" not in table.column_names:
        raise InternalFileError(
            f"{path}: no message_id column (columns: {', '.join(table.column_names) or 'none'})"
        )
    _check_limits(table, path)
    table, lines = _one_row_per_recipient(table, lines)
    if types and _kind(path) == "csv":
        table = _declared(table, lines, types, path)
    reasons: dict[int, str] = {}
    message_ids = table.column("message_id").cast(pa.string()).to_pylist()
    for index, value in enumerate(message_ids):
        if value is None or not value.strip():
            reasons[index] = "no message_id"
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in table.column_names:
        columns[name], bad = _clean(name, table.column(name), path)
        for index, reason in bad.items():
            reasons.setdefault(index, reason)
    for name, arrow_type in _KEY_TYPES.items():
        if name not in columns:
            columns[name] = pa.nulls(table.num_rows, arrow_type)
    ordered = [c.name for c in REQUEST_KEY_COLUMNS] + [
        n for n in table.column_names if n not in _KEY_TYPES
    ]
    result = pa.table({n: columns[n] for n in ordered})
    if reasons:
        keep = pa.array([i not in reasons for i in range(table.num_rows)])
        result = result.filter(keep)
    rejected = [
        Rejected(str(path), lines[i], reasons[i], table.slice(i, 1).to_pylist()[0])
        for i in sorted(reasons)
    ]
    return result, rejected


def output_key(source: Source) -> str:
    """Where a file's rows go: named after the whole source (its name for good and a digest of
    its content), so no two files share an output and only the very same file rewrites it."""
    content = hashlib.sha256()
    with source.path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            content.update(chunk)
    identity = f"{source.name}\0{content.hexdigest()}".encode()
    digest = hashlib.blake2b(identity, digest_size=12).hexdigest()
    stem = column_name(Path(source.name.split("?", 1)[0]).stem)[:40]
    return f"{REQUESTS_TABLE}/{stem}-{digest}.parquet"


def quarantine_key(output: str) -> str:
    """Where a file's rejected rows are kept, with their reasons, beside its output's name."""
    return "quarantine/" + output.removesuffix(".parquet") + ".jsonl"


def _stamped(table: pa.Table, source: Source, loaded_at: datetime) -> pa.Table:
    """The rows with when and from where they were loaded."""
    count = table.num_rows
    when = pa.array([loaded_at.replace(tzinfo=None)] * count, pa.timestamp("ms"))
    table = table.set_column(table.column_names.index("loaded_at"), "loaded_at", when)
    where = pa.array([source.name] * count, pa.string())
    return table.set_column(table.column_names.index("loaded_from"), "loaded_from", where)


def load_internal(
    files: Iterable[Path | Source],
    lake: Lake,
    types: dict[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[LoadStats, pa.Schema | None]:
    """Load internal files into the lake's ses_requests table.

    Rejected rows are kept under quarantine/ses_requests/ with file, line and reason. Returns the
    counts and the union of the files' schemas (None when no file was loaded). `types` declares
    CSV column types (see `parse_types`). A plain path is known by its absolute path.
    """
    stats = LoadStats()
    schemas = []
    for item in files:
        source = item if isinstance(item, Source) else Source.of(item)
        path = source.path
        table, rejected = prepare(path, types)
        table = _stamped(table, source, now())
        stats.files += 1
        stats.rejected += rejected
        stats.rows += table.num_rows
        schemas.append(table.schema)
        for name, arrow_type in zip(table.column_names, table.schema.types, strict=True):
            stats.columns[name] = str(arrow_type)
        output = output_key(source)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            pq.write_table(table, spool, compression="zstd")
            lake.put_file(output, spool)
        if rejected:
            with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
                for row in rejected:
                    entry = {
                        "file": source.name,
                        "line": row.line,
                        "reason": row.reason,
                        "values": row.values,
                    }
                    spool.write(orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE))
                lake.put_file(quarantine_key(output), spool)
    try:
        merged = pa.unify_schemas(schemas) if schemas else None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise InternalFileError(f"the files give one column two types: {error}") from None
    return stats, merged


def loaded_schema(lake: Lake) -> pa.Schema | None:
    """The columns of every file under ses_requests/ (each column's first type seen), read from
    their footers; None when there is none. What the Glue table must list, whatever it lost."""
    fields: dict[str, pa.Field] = {}
    for key, _ in lake.list_keys(f"{REQUESTS_TABLE}/"):
        if key.endswith(".parquet"):
            for found in parquet_schema(lake, key):
                fields.setdefault(found.name, found)
    return pa.schema(list(fields.values())) if fields else None


def load_s3_object(
    obj: S3Object, lake: Lake, s3: Any, types: dict[str, str] | None = None
) -> tuple[LoadStats, pa.Schema | None]:
    """One internal file from S3, in the version its event names (not whatever the key holds by
    now), loaded as `load_internal` loads a file and known by its S3 identity."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / Path(obj.key).name
        extra = {"VersionId": obj.version} if obj.version else None
        s3.download_file(obj.bucket, obj.key, str(path), ExtraArgs=extra)
        return load_internal([Source(path, obj.identity)], lake, types)
