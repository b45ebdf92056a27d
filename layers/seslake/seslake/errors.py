"""Domain exceptions. A bad record is quarantined with its reason; an infrastructure failure
raises, so the platform retries and the dead-letter queue catches what keeps failing."""

from __future__ import annotations

import zlib


class SeslakeError(Exception):
    """Base class of every error seslake raises on purpose."""


class BadRecordError(SeslakeError):
    """A payload that cannot become rows; its message is the quarantine reason."""


class NotSesEventError(BadRecordError):
    """Valid JSON that is not an SES sending event (a receiving notification, an SNS control
    message, ...)."""


class UnknownEventTypeError(BadRecordError):
    """An SES sending record whose event type seslake does not know yet."""


class LakeWriteError(SeslakeError):
    """The lake (a local folder or an S3 prefix) could not be written."""


class ChangedError(SeslakeError):
    """An object changed between reading it and replacing it: read it again and retry."""


class LakeLocationError(SeslakeError):
    """The lake location given is not a folder path or an s3://bucket/prefix URI."""


class TriggerError(SeslakeError):
    """The function was triggered by an object it must not read (a configuration error)."""


class InternalFileError(SeslakeError):
    """An internal data file cannot be loaded as a whole (format, columns)."""


class CompactionError(SeslakeError):
    """The rewritten files did not hold exactly the input rows: the inputs were kept."""


class UnreadableFileError(CompactionError):
    """A file of the table is not Parquet that can be read."""


class CatalogError(SeslakeError):
    """Athena or Glue refused a statement; the message says which and why."""


class ViewError(SeslakeError):
    """A view file is malformed, or the views depend on each other in a cycle."""


class InflationError(zlib.error):
    """A gzip stream inflating far beyond what SES records compress to (a decompression bomb)."""
