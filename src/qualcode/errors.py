"""The qualcode exception hierarchy.

Every error qualcode raises on purpose is a :class:`QualcodeError`. The CLI prints
``str(error)`` and, when present, ``error.hint``; it shows a traceback only with
``--debug``. This module imports nothing from the package.
"""

from __future__ import annotations


class QualcodeError(Exception):
    """Root of all qualcode errors.

    Parameters
    ----------
    message : str
        What went wrong, naming the file, line or parameter concerned.
    hint : str, optional
        What the user can do next.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class InputError(QualcodeError, ValueError):
    """Bad files, codebooks and parameters (also a ``ValueError``).

    ``param`` names the Python parameter(s) at fault, as the message does; a front end
    (the CLI) maps them to its own option names when it prints the error.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | None = None,
        line: int | None = None,
        param: str | tuple[str, ...] | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line
        self.params: tuple[str, ...] = (param,) if isinstance(param, str) else tuple(param or ())


class ConfigError(InputError):
    """A bad ``qualcode.toml`` entry or ``QUALCODE_*`` environment variable."""


class BackendError(QualcodeError):
    """A model call failed (network, server, parse)."""


class RetryableError(BackendError):
    """A transient failure worth retrying: timeout, connection error, 429, 5xx.

    ``retry_after`` is the delay in seconds the server asked for, when it did.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 hint: str | None = None, unreachable: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after
        #: the server could not be reached at all (refused, no route): once retries are
        #: spent the whole step stops instead of trying every remaining request
        self.unreachable = unreachable


class FatalBackendError(BackendError):
    """A failure that retrying will not fix (bad key, unknown model, bad endpoint)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class BackendNotConfigured(BackendError):
    """A step needs a backend (usually an LLM) that is not configured."""


class PrivacyError(QualcodeError):
    """A step would send confidential text to an external service."""


class StoreError(QualcodeError):
    """The project store is missing, corrupt, or a write failed."""


class NotFoundError(StoreError):
    """A run, document, codebook or coder named by the user does not exist."""


class PluginWarning(UserWarning):
    """An installed backend plugin failed to load; qualcode goes on without it (``qualcode plugins``)."""
