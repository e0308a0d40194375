"""What queries return beyond plain documents: LWT outcomes and pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from coodie.exceptions import InvalidQueryError

__all__ = [
    "LWTResult",
    "PagedResult",
    "ResultPage",
    "decode_paging_token",
    "encode_paging_token",
]

DocumentT = TypeVar("DocumentT")


@dataclass(frozen=True)
class ResultPage:
    """One page as a driver adapter returns it: column names and plain rows."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[object, ...]]
    paging_state: bytes | None = None


@dataclass(frozen=True)
class LWTResult(Generic[DocumentT]):
    """The outcome of a conditional write (``IF NOT EXISTS``, ``IF ...``).

    ``applied`` says whether the write happened. When it did not, ``existing``
    holds the row the condition was checked against, as a document, when the
    server sent one back.
    """

    applied: bool
    existing: DocumentT | None = None

    def __bool__(self) -> bool:
        return self.applied


@dataclass(frozen=True)
class PagedResult(Generic[DocumentT]):
    """One page of documents and the token that fetches the next one.

    ``paging_token`` is ``None`` on the last page. It is a URL-safe string, so an
    HTTP API can hand it to its client and take it back to resume.
    """

    documents: list[DocumentT] = field(default_factory=list)
    paging_token: str | None = None

    @property
    def has_more(self) -> bool:
        """Whether another page may follow."""
        return self.paging_token is not None

    def __iter__(self) -> Iterator[DocumentT]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)


def encode_paging_token(paging_state: bytes | None) -> str | None:
    """Turn the driver's paging state into a URL-safe token."""
    if paging_state is None:
        return None
    return base64.urlsafe_b64encode(paging_state).decode("ascii").rstrip("=")


def decode_paging_token(token: str | None) -> bytes | None:
    """Turn a token from :func:`encode_paging_token` back into a paging state.

    :raises InvalidQueryError: the token was not made by coodie.
    """
    if token is None:
        return None
    try:
        padding = "=" * (-len(token) % 4)
        return base64.b64decode(token + padding, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidQueryError(
            f"{token!r} is not a paging token from PagedResult.paging_token"
        ) from error
