"""The map from Python types to CQL types, and the value conversions both ways.

:func:`column_type` turns a field's annotation into a :class:`ColumnType`: its CQL
text and three converters. ``normalize`` runs when a document is validated and puts
the value in the form Cassandra stores (timestamps in UTC with millisecond
precision, vector elements as float32), so that a document always holds what a
read will give back. ``to_db`` turns a Python value into what the driver binds, and
``from_db`` turns what the driver returns into the declared Python type. A
converter is ``None`` where the value passes as it is, which keeps the hot path
free of calls.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import struct
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from coodie._naming import check_identifier, quote, snake_case
from coodie.exceptions import ConfigurationError
from coodie.fields import Counter, CqlType, Frozen, Vector

__all__ = [
    "ColumnType",
    "UserType",
    "column_type",
    "user_type_name",
]

Converter = Callable[[Any], Any]

_INT_RANGES = {
    "tinyint": (-(2**7), 2**7 - 1),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
    "counter": (-(2**63), 2**63 - 1),
}

_SCALARS: dict[type, str] = {
    bool: "boolean",
    int: "int",
    float: "double",
    str: "text",
    bytes: "blob",
    Decimal: "decimal",
    uuid.UUID: "uuid",
    dt.datetime: "timestamp",
    dt.date: "date",
    dt.time: "time",
    dt.timedelta: "duration",
    ipaddress.IPv4Address: "inet",
    ipaddress.IPv6Address: "inet",
}

# The CQL types a marker may choose instead of the default, per Python type.
_OVERRIDES: dict[type, frozenset[str]] = {
    int: frozenset({"int", "bigint", "smallint", "tinyint", "varint", "counter"}),
    float: frozenset({"double", "float"}),
    str: frozenset({"text", "ascii", "varchar"}),
    uuid.UUID: frozenset({"uuid", "timeuuid"}),
    dt.time: frozenset({"time"}),
    dt.timedelta: frozenset({"duration"}),
}

_UTC = dt.timezone.utc


class UserType(BaseModel):
    """A CQL user-defined type, declared like a document.

    The type is named after the class in snake case unless ``Settings.name`` says
    otherwise; ``sync_table`` creates it when a model uses it.
    """

    model_config = ConfigDict(populate_by_name=True)

    class Settings:
        name: str | None = None


def user_type_name(user_type: type[UserType]) -> str:
    """Return the CQL name of a :class:`UserType` class."""
    settings = user_type.__dict__.get("Settings")
    name = getattr(settings, "name", None) if settings else None
    return name or snake_case(user_type.__name__)


class _Duration(NamedTuple):
    """A CQL duration as the driver serializes it: months, days and nanoseconds."""

    months: int
    days: int
    nanoseconds: int


@dataclass(frozen=True)
class ColumnType:
    """How one Python type is stored: its CQL text and its converters."""

    cql: str
    python_type: Any
    to_db: Converter | None = None
    from_db: Converter | None = None
    normalize: Converter | None = None
    empty: Callable[[], Any] | None = None
    user_types: tuple[type[UserType], ...] = ()
    is_counter: bool = False
    vector: Vector | None = None

    @property
    def is_collection(self) -> bool:
        """Whether Cassandra stores an empty value of this type as no value."""
        return self.empty is not None


def column_type(
    annotation: Any, metadata: Sequence[Any] = (), *, nested: bool = False
) -> ColumnType:
    """Return how values of ``annotation`` are stored, given the field's markers.

    ``nested`` types (fields of a user type) are frozen, as CQL requires.

    :raises TypeError: the type has no CQL equivalent, or a marker does not fit it;
        the message says which types are supported.
    """
    return _resolve(annotation, tuple(metadata), top_level=not nested)


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
        raise TypeError(
            f"{annotation!r} is a union of several types, but a CQL column has one "
            "type; declare a single type, optionally as `X | None`"
        )
    return annotation


def _resolve(annotation: Any, metadata: tuple[Any, ...], top_level: bool) -> ColumnType:
    annotation = _strip_optional(annotation)
    if typing.get_origin(annotation) is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _resolve(inner, metadata + tuple(extra), top_level)

    frozen = any(isinstance(marker, Frozen) for marker in metadata)
    vector = next((m for m in metadata if isinstance(m, Vector)), None)
    override = next((m for m in metadata if isinstance(m, CqlType)), None)
    if any(isinstance(marker, Counter) for marker in metadata):
        override = CqlType("counter")

    if vector is not None:
        return _vector_type(annotation, vector)

    origin = typing.get_origin(annotation)
    if origin is not None:
        return _container_type(annotation, origin, frozen, top_level)
    if isinstance(annotation, type) and issubclass(annotation, UserType):
        return _user_type(annotation, frozen or not top_level)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum_type(annotation)
    return _scalar_type(annotation, override)


def _scalar_type(annotation: Any, override: CqlType | None) -> ColumnType:
    if annotation not in _SCALARS:
        supported = ", ".join(sorted(t.__name__ for t in _SCALARS))
        raise TypeError(
            f"{annotation!r} has no CQL type; use one of {supported}, an Enum, a "
            "UserType, or list/set/frozenset/dict/tuple of those"
        )
    cql = _SCALARS[annotation]
    if override is not None:
        allowed = _OVERRIDES.get(annotation, frozenset({cql}))
        if override.name not in allowed:
            raise TypeError(
                f"a {annotation.__name__} cannot be stored as {override.name}; "
                f"choose one of {', '.join(sorted(allowed))}"
            )
        cql = override.name

    if cql in _INT_RANGES:
        return ColumnType(
            cql,
            annotation,
            to_db=_int_range_check(cql),
            is_counter=cql == "counter",
        )
    if annotation is dt.datetime:
        return ColumnType(
            cql, annotation, from_db=_aware_utc, normalize=_normalize_timestamp
        )
    if annotation is dt.date:
        return ColumnType(cql, annotation, from_db=_date_from_db)
    if annotation is dt.time:
        return ColumnType(cql, annotation, from_db=_time_from_db)
    if annotation is dt.timedelta:
        return ColumnType(
            cql,
            annotation,
            to_db=_duration_to_db,
            from_db=_duration_from_db,
            normalize=_normalize_duration,
        )
    if annotation in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        return ColumnType(cql, annotation, to_db=str, from_db=ipaddress.ip_address)
    if cql == "float":
        return ColumnType(cql, annotation, normalize=_float32)
    if cql == "ascii":
        return ColumnType(cql, annotation, to_db=_ascii_check)
    if cql == "timeuuid":
        return ColumnType(cql, annotation, to_db=_timeuuid_check)
    return ColumnType(cql, annotation)


def _container_type(
    annotation: Any, origin: Any, frozen: bool, top_level: bool
) -> ColumnType:
    args = typing.get_args(annotation)
    frozen = frozen or not top_level
    if origin in (list, Sequence) or origin is typing.List:  # noqa: UP006
        (item,) = args
        return _sequence_type("list", annotation, item, list, frozen)
    if origin in (set, frozenset):
        (item,) = args
        return _sequence_type("set", annotation, item, origin, frozen)
    if origin in (dict, Mapping):
        key, value = args
        return _map_type(annotation, key, value, frozen)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            raise TypeError(
                f"{annotation!r}: a CQL tuple has a fixed length; write each "
                "element's type, or use list[...]"
            )
        return _tuple_type(annotation, args)
    raise TypeError(
        f"{annotation!r} has no CQL type; use list[...], set[...], frozenset[...], "
        "dict[..., ...] or tuple[...] for collections, or an Enum for a fixed set of "
        "values"
    )


def _wrap_frozen(cql: str, frozen: bool) -> str:
    return f"frozen<{cql}>" if frozen else cql


def _sequence_type(
    kind: str, annotation: Any, item: Any, container: type, frozen: bool
) -> ColumnType:
    element = _resolve(item, (), top_level=False)
    cql = _wrap_frozen(f"{kind}<{element.cql}>", frozen)
    to_db = _map_each(element.to_db, list if kind == "list" else set)
    from_db = _map_each(element.from_db, container) if element.from_db else container
    normalize = _map_each(element.normalize, container)
    return ColumnType(
        cql,
        annotation,
        to_db=to_db,
        from_db=from_db,
        normalize=normalize,
        empty=container,
        user_types=element.user_types,
    )


def _map_type(annotation: Any, key: Any, value: Any, frozen: bool) -> ColumnType:
    key_type = _resolve(key, (), top_level=False)
    value_type = _resolve(value, (), top_level=False)
    cql = _wrap_frozen(f"map<{key_type.cql}, {value_type.cql}>", frozen)
    return ColumnType(
        cql,
        annotation,
        to_db=_map_items(key_type.to_db, value_type.to_db),
        from_db=_map_items(key_type.from_db, value_type.from_db) or dict,
        normalize=_map_items(key_type.normalize, value_type.normalize),
        empty=dict,
        user_types=key_type.user_types + value_type.user_types,
    )


def _tuple_type(annotation: Any, args: tuple[Any, ...]) -> ColumnType:
    elements = [_resolve(arg, (), top_level=False) for arg in args]
    cql = f"frozen<tuple<{', '.join(element.cql for element in elements)}>>"

    def per_element(pick: Callable[[ColumnType], Converter | None]) -> Converter | None:
        converters = [pick(element) for element in elements]
        if not any(converters):
            return None

        def convert(value: Any) -> Any:
            return tuple(
                item if item is None or fn is None else fn(item)
                for fn, item in zip(converters, value, strict=True)
            )

        return convert

    return ColumnType(
        cql,
        annotation,
        to_db=per_element(lambda element: element.to_db),
        from_db=per_element(lambda element: element.from_db) or tuple,
        normalize=per_element(lambda element: element.normalize),
        user_types=tuple(t for element in elements for t in element.user_types),
    )


def _user_type(user_type: type[UserType], frozen: bool) -> ColumnType:
    fields = {
        name: _resolve(info.annotation, tuple(info.metadata), top_level=False)
        for name, info in user_type.model_fields.items()
    }
    nested = tuple(t for field in fields.values() for t in field.user_types)
    try:
        name = check_identifier(
            "type", user_type_name(user_type), owner=f"user type {user_type.__name__}"
        )
    except ConfigurationError as error:
        # column_type() reports every unusable annotation as a TypeError.
        raise TypeError(str(error)) from None
    cql = _wrap_frozen(quote(name), frozen)

    def to_db(value: UserType) -> types.SimpleNamespace:
        return types.SimpleNamespace(
            **{
                name: _apply(field.to_db, getattr(value, name))
                for name, field in fields.items()
            }
        )

    def from_db(value: Any) -> UserType:
        data = {}
        for name, field in fields.items():
            item = getattr(value, name, None)
            if item is None and field.empty is not None:
                item = field.empty()
            data[name] = _apply(field.from_db, item)
        return user_type.model_construct(**data)

    return ColumnType(
        cql,
        user_type,
        to_db=to_db,
        from_db=from_db,
        user_types=(*nested, user_type),
    )


def _enum_type(enum_class: type[enum.Enum]) -> ColumnType:
    values = [member.value for member in enum_class]
    if all(isinstance(value, str) for value in values):
        cql = "text"
    elif all(
        isinstance(value, int) and not isinstance(value, bool) for value in values
    ):
        cql = "int"
    else:
        raise TypeError(
            f"enum {enum_class.__name__} mixes value types; a stored enum needs all "
            "str values or all int values"
        )
    return ColumnType(
        cql, enum_class, to_db=_enum_value, from_db=enum_class, normalize=enum_class
    )


def _vector_type(annotation: Any, vector: Vector) -> ColumnType:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin not in (list, Sequence) or args != (float,):
        raise TypeError(
            f"Vector() marks a list[float] field, not {annotation!r}; declare the "
            f"field as Annotated[list[float], Vector({vector.dimensions})]"
        )
    dimensions = vector.dimensions

    def normalize(value: list[float]) -> list[float]:
        if len(value) != dimensions:
            raise ValueError(
                f"a vector<float, {dimensions}> needs exactly {dimensions} values, "
                f"got {len(value)}"
            )
        return list(
            struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *value))
        )

    return ColumnType(
        f"vector<float, {dimensions}>",
        annotation,
        from_db=list,
        normalize=normalize,
        vector=vector,
    )


def _apply(converter: Converter | None, value: Any) -> Any:
    if value is None or converter is None:
        return value
    return converter(value)


def _map_each(converter: Converter | None, container: type) -> Converter | None:
    if converter is None:
        return None

    def convert(values: Any) -> Any:
        return container(converter(item) for item in values)

    return convert


def _map_items(
    key_converter: Converter | None, value_converter: Converter | None
) -> Converter | None:
    if key_converter is None and value_converter is None:
        return None

    def convert(mapping: Any) -> dict[Any, Any]:
        return {
            _apply(key_converter, key): _apply(value_converter, value)
            for key, value in mapping.items()
        }

    return convert


def _int_range_check(cql: str) -> Converter:
    low, high = _INT_RANGES[cql]

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(
                f"{value} does not fit a CQL {cql} ({low} to {high}); mark the field "
                "BigInt() or VarInt() to store larger numbers"
            )
        return value

    return check


def _ascii_check(value: str) -> str:
    if not value.isascii():
        raise ValueError(
            f"{value!r} is not US-ASCII, which an ascii column requires; "
            "drop the Ascii() marker to store it as text"
        )
    return value


def _timeuuid_check(value: uuid.UUID) -> uuid.UUID:
    if value.version != 1:
        raise ValueError(
            f"{value} is a version-{value.version} UUID; a timeuuid column needs "
            "version 1 (uuid.uuid1())"
        )
    return value


def _enum_value(member: enum.Enum) -> Any:
    return member.value


# Arithmetic makes an aware datetime from a naive one about ten times faster
# than ``replace(tzinfo=...)``, which parses keyword arguments on every call.
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=_UTC)


def _normalize_timestamp(value: dt.datetime) -> dt.datetime:
    """Put a timestamp in UTC with millisecond precision, as Cassandra keeps it.

    A naive datetime is taken to be in UTC, as the driver does when it writes one.
    """
    if value.tzinfo is None:
        value = _EPOCH_UTC + (value - _EPOCH)
    elif value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    below_millisecond = value.microsecond % 1000
    if below_millisecond:
        value -= dt.timedelta(microseconds=below_millisecond)
    return value


def _aware_utc(value: dt.datetime) -> dt.datetime:
    """The driver's naive UTC datetime, as an aware one."""
    if value.tzinfo is None:
        return _EPOCH_UTC + (value - _EPOCH)
    return value if value.tzinfo is _UTC else value.astimezone(_UTC)


def _date_from_db(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return value.date()  # type: ignore[no-any-return]


def _time_from_db(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    return value.time()  # type: ignore[no-any-return]


def _normalize_duration(value: dt.timedelta) -> dt.timedelta:
    if value < dt.timedelta(0):
        raise ValueError(
            "negative durations are not supported: a CQL duration keeps one sign for "
            "its days and nanoseconds; store the absolute value and a sign column"
        )
    return value


def _duration_to_db(value: dt.timedelta) -> _Duration:
    nanoseconds = (value.seconds * 1_000_000 + value.microseconds) * 1000
    return _Duration(0, value.days, nanoseconds)


def _duration_from_db(value: Any) -> Any:
    if value.months:
        return value
    return dt.timedelta(days=value.days, microseconds=value.nanoseconds // 1000)


def _float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]  # type: ignore[no-any-return]
