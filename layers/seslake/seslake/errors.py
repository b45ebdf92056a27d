"""Domain exceptions. A bad record is quarantined with its reason; an infrastructure failure
raises, so the platform retries and the dead-letter queue catches what keeps failing."""

from __future__ import annotations


class SeslakeError(Exception):
    """Base class of every error seslake raises on purpose."""


class BadRecord(SeslakeError):
    """A payload that cannot become rows; its message is the quarantine reason."""


class NotSesEvent(BadRecord):
    """Valid JSON that is not an SES sending event (a receiving notification, an SNS control
    message, ...)."""


class UnknownEventType(BadRecord):
    """An SES sending record whose event type seslake does not know yet."""


class LakeWriteError(SeslakeError):
    """The lake (a local folder or an S3 prefix) could not be written."""


class LakeLocationError(SeslakeError):
    """The lake location given is not a folder path or an s3://bucket/prefix URI."""


class TriggerError(SeslakeError):
    """The function was triggered by an object it must not read (a configuration error)."""
