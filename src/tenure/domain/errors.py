"""One exception tree for Tenure.

Every interface maps these to its own output (HTTP status, CLI exit code) in a
single table, so a new error class only needs a place in the tree.
"""

from __future__ import annotations


class TenureError(Exception):
    """Root of every error Tenure raises on purpose."""


class ConfigurationError(TenureError):
    """Settings or configuration files are missing or invalid."""


class InputError(TenureError):
    """Input supplied by a user or an upstream system cannot be used."""


class LoadError(InputError):
    """A data load was refused; the warehouse keeps what it had."""


class RuleSyntaxError(InputError):
    """A rule expression is outside the rule grammar.

    ``line`` and ``column`` are 1-based positions inside the expression.
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, expression: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.expression = expression

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"


class NotFound(TenureError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class PermissionDenied(TenureError):
    """The caller's role or portfolio does not allow this."""


class AuthenticationFailed(TenureError):
    """Sign-in or token check failed."""


class Conflict(TenureError):
    """The change conflicts with the current state (wrong status, duplicate, overdraft)."""


class EngineError(TenureError):
    """An analytics engine failed to run a pipeline."""
