"""The laptop side's exceptions. Each is a SeslakeError: the command prints its message and
exits 1."""

from __future__ import annotations

from seslake.errors import SeslakeError


class QuestionError(SeslakeError):
    """A question cannot be asked as given (unknown column, bad name)."""


class AthenaError(SeslakeError):
    """Athena or the stack could not answer."""


class QueryError(SeslakeError):
    """A query could not be translated or run."""


class TemplateError(SeslakeError):
    """template.yaml uses something this local stand-in cannot resolve."""
