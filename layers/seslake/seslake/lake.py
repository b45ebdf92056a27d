"""Where the tables live: a local folder or an S3 prefix, behind one small interface.

Writes are whole-object and atomic (a local file is renamed into place; an S3 PUT is atomic), so
a reader never sees half a file and a retry simply overwrites.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from seslake.errors import LakeLocationError, LakeWriteError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READ_CHUNK = 1 << 20


class Lake(Protocol):
    """A place to put and read objects by key (`ses_events/event_type=send/dt=.../x.parquet`)."""

    uri: str

    def put_file(self, key: str, file: IO[bytes]) -> None:
        """Store the file's content (from its start) under key, replacing any object there."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store data under key, replacing any object there."""

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time."""

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under prefix."""

    def delete(self, key: str) -> None:
        """Remove the object (no error if absent)."""

    def url(self, key: str) -> str:
        """Where key lives, as a path or an s3:// URI."""


class LocalLake:
    """A lake in a local folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_file(self, key: str, file: IO[bytes]) -> None:
        file.seek(0)
        self._write(key, lambda out: _copy(file, out))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def _write(self, key: str, fill: Any) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            try:
                with os.fdopen(fd, "wb") as out:
                    fill(out)
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise LakeWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def read_chunks(self, key: str) -> Iterator[bytes]:
        with self._path(key).open("rb") as f:
            while chunk := f.read(READ_CHUNK):
                yield chunk

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if base.is_file():
            yield prefix
            return
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return str(self._path(key))


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

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:
            raise LakeWriteError(f"cannot write {self.url(key)}: {exc}") from exc

    def read_chunks(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        yield from body.iter_chunks(READ_CHUNK)

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


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


def _copy(src: IO[bytes], dst: IO[bytes]) -> None:
    while chunk := src.read(READ_CHUNK):
        dst.write(chunk)
