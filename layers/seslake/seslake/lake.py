"""Where the tables live: a local folder or an S3 prefix, behind one small interface.

Writes are whole-object and atomic (a local file is renamed into place; an S3 PUT is atomic), so
a reader never sees half a file and a retry simply overwrites.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from seslake.errors import ChangedError, LakeLocationError, LakeWriteError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READ_CHUNK = 1 << 20


#: S3 object metadata naming what rewrote an object (`erase`): ingest_s3 skips such an object
#: under the raw prefix, whose records were ingested before it was rewritten.
REWRITTEN = "seslake-rewritten"


class Lake(Protocol):
    """A place to put objects by key (`ses_events/event_type=send/dt=.../x.parquet`)."""

    uri: str

    def put_file(self, key: str, file: IO[bytes]) -> None:
        """Store the file's content (from its start) under key, replacing any object there."""

    def url(self, key: str) -> str:
        """Where key lives, as a path or an s3:// URI."""

    def list_keys(self, prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object under prefix, sorted by key."""

    def get_bytes(self, key: str) -> bytes:
        """The whole content of key."""

    def get_tail(self, key: str, length: int) -> bytes:
        """The last `length` bytes of key (all of it when shorter)."""

    def delete(self, keys: list[str]) -> None:
        """Remove keys (a key already gone is not an error)."""

    def read(self, key: str) -> tuple[bytes, str]:
        """The content of key and a token of that state (an S3 ETag; size and time locally)."""

    def replace(self, key: str, data: bytes, token: str, mark: str | None = None) -> None:
        """Put data under key only if key is still as `read` returned it (ChangedError if
        not), so a rewrite never overwrites what another writer put there meanwhile. `mark`
        is kept with an S3 object as its `REWRITTEN` metadata."""

    def drop_old_versions(self, key: str) -> int:
        """Delete every noncurrent version of key (a versioned bucket); how many."""


class LocalLake:
    """A lake in a local folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_file(self, key: str, file: IO[bytes]) -> None:
        path = self._path(key)
        file.seek(0)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(file, out, READ_CHUNK)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise LakeWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def url(self, key: str) -> str:
        return str(self._path(key))

    def list_keys(self, prefix: str) -> list[tuple[str, int]]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        found = [
            (p.relative_to(self.root).as_posix(), p.stat().st_size)
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        ]
        return sorted(found)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def get_tail(self, key: str, length: int) -> bytes:
        with self._path(key).open("rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - length))
            return handle.read()

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def _token(self, path: Path) -> str:
        stat = path.stat()
        return f"{stat.st_mtime_ns}:{stat.st_size}"

    def read(self, key: str) -> tuple[bytes, str]:
        path = self._path(key)
        token = self._token(path)
        return path.read_bytes(), token

    def replace(self, key: str, data: bytes, token: str, mark: str | None = None) -> None:
        path = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            if not path.exists() or self._token(path) != token:
                raise ChangedError(f"{path} changed since it was read")
            Path(tmp).replace(path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def drop_old_versions(self, key: str) -> int:
        return 0  # a folder keeps no versions


class S3Lake:
    """A lake under s3://bucket/prefix."""

    def __init__(self, bucket: str, prefix: str = "", client: S3Client | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put_file(self, key: str, file: IO[bytes]) -> None:
        file.seek(0)
        try:
            self.client.upload_fileobj(file, self.bucket, self._key(key))
        except Exception as exc:  # boto3 raises several unrelated types for one failure
            raise LakeWriteError(f"cannot write {self.url(key)}: {exc}") from exc

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def list_keys(self, prefix: str) -> list[tuple[str, int]]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                found.append((item["Key"][len(self.prefix) :], item["Size"]))
        return sorted(found)

    def download(self, key: str, path: Path) -> None:
        """Stream key into a local file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        with path.open("wb") as handle:
            shutil.copyfileobj(body, handle, READ_CHUNK)

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return body

    def get_tail(self, key: str, length: int) -> bytes:
        response = self.client.get_object(
            Bucket=self.bucket, Key=self._key(key), Range=f"bytes=-{length}"
        )
        tail: bytes = response["Body"].read()
        return tail

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(k)} for k in chunk], "Quiet": True},
            )
            if response.get("Errors"):
                error = response["Errors"][0]
                raise LakeWriteError(f"cannot delete {error.get('Key')}: {error.get('Message')}")

    def read(self, key: str) -> tuple[bytes, str]:
        response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        return response["Body"].read(), str(response["ETag"])

    def replace(self, key: str, data: bytes, token: str, mark: str | None = None) -> None:
        # A conditional write: S3 refuses it (412) if the object's ETag is no longer `token`.
        metadata = {REWRITTEN: mark} if mark else {}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfMatch=token, Metadata=metadata
            )
        except Exception as exc:  # botocore's ClientError; 412 is the race, the rest is not
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ChangedError(f"{self.url(key)} changed since it was read") from exc
            raise LakeWriteError(f"cannot write {self.url(key)}: {exc}") from exc

    def drop_old_versions(self, key: str) -> int:
        full = self._key(key)
        old: list[Any] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if version["Key"] == full and not version.get("IsLatest"):
                    old.append({"Key": full, "VersionId": version["VersionId"]})
        for start in range(0, len(old), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": old[start : start + 1000], "Quiet": True}
            )
        return len(old)


def open_lake(location: str, s3_client: S3Client | None = None) -> Lake:
    """A Lake for a folder path or an s3://bucket/prefix URI."""
    if location.startswith("s3://"):
        bucket, _, prefix = location[5:].partition("/")
        if not bucket:
            raise LakeLocationError(f"no bucket in {location!r}: use s3://bucket/prefix")
        return S3Lake(bucket, prefix, s3_client)
    if "://" in location:
        raise LakeLocationError(f"unsupported lake location {location!r}: a folder or s3://...")
    return LocalLake(location)


def local_copy(
    location: str,
    cache: Path,
    tables: tuple[str, ...],
    s3_client: S3Client | None = None,
    days: tuple[str, str] | None = None,
) -> Path:
    """A folder holding the Parquet files of `tables` of the lake at `location`.

    A local lake is its own folder. An S3 lake is copied into `cache` (files already there with
    the same size are not downloaded again; files gone from S3 are removed), so a local engine
    can read it; with `days` (first, last), only the `dt` partitions between them are copied.
    """
    lake = open_lake(location, s3_client)
    if isinstance(lake, LocalLake):
        return lake.root
    assert isinstance(lake, S3Lake)
    wanted: dict[Path, tuple[str, int]] = {}
    try:
        for table in tables:
            for key, size in lake.list_keys(table + "/"):
                if key.endswith(".parquet") and _within(key, days):
                    wanted[_inside(cache, key)] = (key, size)
        for path, (key, size) in wanted.items():
            if path.is_file() and path.stat().st_size == size:
                continue
            lake.download(key, path)
    except LakeLocationError:
        raise
    except Exception as exc:  # boto3 raises several unrelated types for one failure
        raise LakeLocationError(f"cannot read {lake.uri}: {exc}") from exc
    for table in tables:
        for stale in (cache / table).rglob("*.parquet") if (cache / table).is_dir() else ():
            if stale not in wanted and _within(stale.relative_to(cache).as_posix(), days):
                stale.unlink()
    return cache


def _inside(folder: Path, key: str) -> Path:
    """Where an object of the lake goes in a local copy; a key that would land outside the
    folder (`../`, an absolute path) is refused, whatever wrote it."""
    parts = Path(key).parts
    target = (folder / key).resolve()
    if Path(key).is_absolute() or ".." in parts or not target.is_relative_to(folder.resolve()):
        raise LakeLocationError(f"refusing to copy object {key!r}: its key leaves the lake folder")
    return folder / key


def parquet_schema(lake: Lake, key: str) -> pa.Schema:
    """The schema of a Parquet object, from its footer alone (two small reads, never the data)."""
    end = lake.get_tail(key, 8)
    if len(end) < 8 or end[4:] != b"PAR1":
        raise LakeLocationError(f"{lake.url(key)} is not a Parquet file")
    footer_length = int.from_bytes(end[:4], "little")
    footer = lake.get_tail(key, footer_length + 8)
    # The footer is self-contained: a file of just it reads as one with no row groups.
    return pq.read_schema(pa.BufferReader(b"PAR1" + footer))


def _within(key: str, days: tuple[str, str] | None) -> bool:
    """Whether a key belongs to the `dt` partitions of `days` (any key, without `days`; a key
    outside the partitioned table, always)."""
    if days is None:
        return True
    found = re.search(r"/dt=(\d{4}-\d{2}-\d{2})/", key)
    return found is None or days[0] <= found.group(1) <= days[1]
