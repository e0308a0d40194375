"""Markers that say how a model field maps to a CQL column.

Use them inside ``typing.Annotated``::

    class Reading(Document):
        sensor: Annotated[str, PrimaryKey()]
        day: Annotated[date, PrimaryKey(1)]
        at: Annotated[datetime, ClusteringKey(order="DESC")]
        value: Annotated[float, Indexed()]

The same markers serve :mod:`coodie.sync` and :mod:`coodie.aio`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Ascii",
    "BigInt",
    "ClusteringKey",
    "Counter",
    "CqlType",
    "Discriminator",
    "Double",
    "Duration",
    "Float",
    "Frozen",
    "Indexed",
    "PrimaryKey",
    "SmallInt",
    "Static",
    "Time",
    "TimeUUID",
    "TinyInt",
    "VarInt",
    "Vector",
]

IndexKind = Literal["sai", "secondary", "sasi"]
IndexTarget = Literal["values", "keys", "entries", "full"]
Similarity = Literal["cosine", "euclidean", "dot_product"]


@dataclass(frozen=True)
class PrimaryKey:
    """Part of the partition key; ``index`` orders the parts of a composite key."""

    index: int = 0


@dataclass(frozen=True)
class ClusteringKey:
    """A clustering column, sorted ``ASC`` or ``DESC``, in the position ``index``."""

    order: Literal["ASC", "DESC"] = "ASC"
    index: int = 0


@dataclass(frozen=True)
class Indexed:
    """Give the column an index; SAI unless ``kind`` says otherwise.

    :param kind: ``"sai"`` (storage-attached), ``"secondary"`` (legacy 2i) or
        ``"sasi"`` (needed for ``LIKE`` on text).
    :param name: the index name; ``<table>_<column>_idx`` when left out.
    :param target: for collections, index the ``values``, the map ``keys``, the map
        ``entries``, or the ``full`` frozen collection.
    :param options: index options, such as SASI's ``{"mode": "CONTAINS"}``.
    """

    kind: IndexKind = "sai"
    name: str | None = None
    target: IndexTarget = "values"
    options: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Counter:
    """A ``counter`` column; only :class:`CounterDocument` models may have them."""


@dataclass(frozen=True)
class Frozen:
    """Store a collection, tuple or user-defined type frozen: written whole."""


@dataclass(frozen=True)
class Static:
    """A static column: one value shared by every row of a partition."""


@dataclass(frozen=True)
class Discriminator:
    """The column that records which class of a model hierarchy a row belongs to."""


@dataclass(frozen=True)
class CqlType:
    """Store the field as the CQL type ``name`` instead of the type's default."""

    name: str


@dataclass(frozen=True)
class Vector:
    """A ``vector<float, dimensions>`` column for similarity search.

    Cassandra stores each element as a 32-bit float, so values are rounded to
    float32 when the document is validated: the document holds what is stored.
    """

    dimensions: int
    similarity: Similarity = "cosine"

    def __post_init__(self) -> None:
        if not 1 <= self.dimensions <= 8192:
            raise ValueError(
                f"Vector dimensions must be between 1 and 8192, not {self.dimensions}"
            )


class Ascii(CqlType):
    """Store a ``str`` as ``ascii`` (US-ASCII only)."""

    def __init__(self) -> None:
        super().__init__("ascii")


class BigInt(CqlType):
    """Store an ``int`` as a 64-bit ``bigint``."""

    def __init__(self) -> None:
        super().__init__("bigint")


class SmallInt(CqlType):
    """Store an ``int`` as a 16-bit ``smallint``."""

    def __init__(self) -> None:
        super().__init__("smallint")


class TinyInt(CqlType):
    """Store an ``int`` as an 8-bit ``tinyint``."""

    def __init__(self) -> None:
        super().__init__("tinyint")


class VarInt(CqlType):
    """Store an ``int`` of any size as ``varint``."""

    def __init__(self) -> None:
        super().__init__("varint")


class Double(CqlType):
    """Store a ``float`` as a 64-bit ``double`` (the default for ``float``)."""

    def __init__(self) -> None:
        super().__init__("double")


class Float(CqlType):
    """Store a ``float`` as a 32-bit ``float``; values are rounded to float32."""

    def __init__(self) -> None:
        super().__init__("float")


class TimeUUID(CqlType):
    """Store a version-1 ``UUID`` as ``timeuuid``."""

    def __init__(self) -> None:
        super().__init__("timeuuid")


class Time(CqlType):
    """Store a ``datetime.time`` as ``time`` (the default for ``time``)."""

    def __init__(self) -> None:
        super().__init__("time")


class Duration(CqlType):
    """Store a ``timedelta`` as ``duration`` (the default)."""

    def __init__(self) -> None:
        super().__init__("duration")
