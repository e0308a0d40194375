"""Names as CQL needs them: checked, quoted, and derived from class names."""

from __future__ import annotations

import re

from coodie.exceptions import ConfigurationError

__all__ = ["check_identifier", "quote", "snake_case"]

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")


def check_identifier(kind: str, name: str, *, owner: str | None = None) -> str:
    """Return ``name`` if CQL can hold it as a keyspace, table, type or index name.

    :raises ConfigurationError: the name has characters other than letters, digits
        and underscores, does not start with a letter, or is over 48 characters.
    """
    if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
        return name
    where = f" of {owner}" if owner else ""
    raise ConfigurationError(
        f"{name!r} is not a valid {kind} name{where}: use a letter followed by up to "
        "47 letters, digits or underscores"
    )


def quote(name: str) -> str:
    """Return a checked identifier in double quotes, so its case is kept."""
    return f'"{name}"'


def snake_case(name: str) -> str:
    """``UserProfile`` → ``user_profile``: the default table and type names."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
