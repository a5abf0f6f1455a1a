"""User-facing errors.

Anything a user can fix (a config typo, a missing file, an unreadable export)
raises a :class:`PortfolioError` whose message says what is wrong, where, and
with examples. The CLI prints that message alone and exits with code 2; it
never shows a traceback for these.
"""

from __future__ import annotations


class PortfolioError(Exception):
    """A problem with the user's input or configuration (CLI exit code 2)."""

    exit_code = 2


class ConfigError(PortfolioError):
    """The portfolio config is invalid (unknown key, file not found, ...)."""


class InputError(PortfolioError):
    """An input file cannot be used (empty, wrong encoding, column missing, ...)."""


class RowProblemsError(InputError):
    """Row-level problems were found and ``strict`` mode turns them into an error."""


class ColumnError(PortfolioError, KeyError, ValueError):
    """A table handed to a function lacks a column it needs (or is not a table).

    Also a ``KeyError`` and a ``ValueError``, the two types the kit's functions raised before
    :func:`portfolio_helpers.core.validation.require_columns` was the one check.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ValueProblem(PortfolioError, ValueError):
    """A value handed to a function cannot be used: a column that does not hold dates or numbers, missing
    values where every row needs one, a parameter out of its range or not among its choices.

    Also a ``ValueError``, the type the kit's functions raised before the checks of
    :mod:`portfolio_helpers.core.validation` were the one way to say it.
    """
