"""Every error coodie raises.

All of them derive from :class:`CoodieError`. Errors a user can cause by what they
pass are raised before anything is sent to the database, and their message names
the model, the field and what to do instead. Errors that come from the cluster wrap
the driver's exception, which stays available as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ClusterConnectionError",
    "ConfigurationError",
    "CoodieError",
    "DocumentNotFound",
    "InvalidQueryError",
    "MigrationError",
    "MigrationLockError",
    "MultipleDocumentsFound",
    "OperationTimedOut",
    "ReadOnlyModelError",
    "SchemaMismatchError",
    "ServerError",
    "UnavailableError",
]


class CoodieError(Exception):
    """Base class of every error raised by coodie."""


class ConfigurationError(CoodieError):
    """coodie is not set up as this call needs: no driver, a bad option, a bad model."""


class InvalidQueryError(CoodieError, ValueError):
    """A query or a value cannot be sent as asked; the message says how to fix it."""


class ReadOnlyModelError(InvalidQueryError):
    """A write was attempted through a model that only reads, such as a view."""


class DocumentNotFound(CoodieError, LookupError):
    """``get()`` matched no row."""


class MultipleDocumentsFound(CoodieError, LookupError):
    """``find_one()`` or ``QuerySet.one()`` matched more than one row."""


class SchemaMismatchError(CoodieError):
    """The table in the database lacks what the model declares (a column, say).

    Run ``sync_table()`` or a migration; ``Model.schema_diff()`` shows the gap.
    """


class MigrationError(CoodieError):
    """A migration could not be loaded, applied or rolled back; the message says why."""


class MigrationLockError(MigrationError):
    """Another runner held the migration lock for longer than this one would wait."""


class ServerError(CoodieError):
    """The cluster refused a statement; the driver's exception is the cause."""


class UnavailableError(ServerError):
    """Too few replicas were alive to reach the requested consistency level."""


class OperationTimedOut(ServerError, TimeoutError):
    """A request got no answer within its timeout."""


class ClusterConnectionError(ServerError, ConnectionError):
    """No connection to any node could be made or kept."""


class AuthenticationError(ClusterConnectionError):
    """The cluster refused the credentials or the certificate."""
