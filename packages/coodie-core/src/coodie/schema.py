"""What a document class means as a CQL table: columns, keys, indexes, options.

:func:`build_schema` reads a model class once and returns a :class:`TableSchema`
that every other layer works from. Mistakes in a model (no partition key, a marker
that does not fit its type, a name CQL cannot hold) raise
:class:`~coodie.exceptions.ConfigurationError` here, when the class is first used.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from coodie._naming import check_identifier, quote, snake_case
from coodie.exceptions import ConfigurationError, InvalidQueryError
from coodie.fields import ClusteringKey, Discriminator, Indexed, PrimaryKey, Static
from coodie.types import ColumnType, UserType, column_type

__all__ = [
    "Column",
    "TableSchema",
    "build_schema",
    "check_identifier",
    "discriminator_value",
    "polymorphic_root",
    "quote",
    "settings_value",
    "table_name",
]

_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

_TABLE_OPTIONS = frozenset(
    {
        "bloom_filter_fp_chance",
        "caching",
        "cdc",
        "comment",
        "compaction",
        "compression",
        "crc_check_chance",
        "default_time_to_live",
        "gc_grace_seconds",
        "max_index_interval",
        "memtable_flush_period_in_ms",
        "min_index_interval",
        "read_repair",
        "speculative_retry",
        "additional_write_policy",
    }
)


@dataclass(frozen=True, eq=False)
class Column:
    """One column of a table and the model field it comes from."""

    field_name: str
    name: str
    type: ColumnType
    nullable: bool = True
    partition_key: int | None = None
    clustering_key: int | None = None
    clustering_order: str = "ASC"
    static: bool = False
    index: Indexed | None = None
    discriminator: bool = False

    @property
    def is_primary_key(self) -> bool:
        """Whether the column is part of the primary key."""
        return self.partition_key is not None or self.clustering_key is not None

    @property
    def quoted(self) -> str:
        """The column name as CQL text."""
        return quote(self.name)


@dataclass(frozen=True, eq=False)
class TableSchema:
    """A model's table: where it lives, its columns and its options."""

    model: type[BaseModel]
    model_name: str
    table: str
    keyspace: str | None
    columns: tuple[Column, ...]
    partition_key: tuple[Column, ...]
    clustering_key: tuple[Column, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    user_types: tuple[type[UserType], ...] = ()
    by_field: Mapping[str, Column] = field(default_factory=dict)
    by_name: Mapping[str, Column] = field(default_factory=dict)
    discriminator: Column | None = None
    discriminator_value: str | None = None
    root: type[BaseModel] | None = None

    @property
    def primary_key(self) -> tuple[Column, ...]:
        """The partition key columns, then the clustering columns."""
        return self.partition_key + self.clustering_key

    @property
    def mutable_fields(self) -> frozenset[str]:
        """Fields whose Python value can change in place: collections, user types."""
        mutable = self.__dict__.get("_mutable_fields")
        if mutable is None:
            mutable = frozenset(
                column.field_name
                for column in self.columns
                if column.type.empty in (list, set, dict)
                or column.type.vector is not None
                or column.type.user_types
            )
            object.__setattr__(self, "_mutable_fields", mutable)
        return mutable

    @property
    def is_counter_table(self) -> bool:
        """Whether the table holds counter columns (then only counters and keys)."""
        counters = self.__dict__.get("_is_counter_table")
        if counters is None:
            counters = any(column.type.is_counter for column in self.columns)
            object.__setattr__(self, "_is_counter_table", counters)
        return bool(counters)

    def qualified_table(self, keyspace: str | None = None) -> str:
        """The table name as CQL text, with its keyspace when one is known."""
        keyspace = self.keyspace or keyspace
        if keyspace:
            check_identifier("keyspace", keyspace)
            return f"{quote(keyspace)}.{quote(self.table)}"
        return quote(self.table)

    def column_for(self, field_name: str) -> Column:
        """Return the column of a field, or raise a message listing the fields.

        :raises InvalidQueryError: the model has no such field.
        """
        column = self.by_field.get(field_name) or self.by_name.get(field_name)
        if column is None:
            choices = ", ".join(self.by_field)
            raise InvalidQueryError(
                f"{self.model_name} has no field {field_name!r}; its fields are "
                f"{choices}"
            )
        return column


def settings_value(model: type[BaseModel], key: str, default: Any = None) -> Any:
    """Return ``Settings.<key>`` of a model, looking through its base classes."""
    for klass in model.__mro__:
        settings = klass.__dict__.get("Settings")
        if settings is not None and key in vars(settings):
            return vars(settings)[key]
    return default


def table_name(model: type[BaseModel]) -> str:
    """The table a model is stored in: ``Settings.name`` or its snake-case name."""
    settings = model.__dict__.get("Settings")
    name = vars(settings).get("name") if settings is not None else None
    return str(name or snake_case(model.__name__))


def _declares_discriminator(model: type) -> bool:
    fields = getattr(model, "__pydantic_fields__", None) or {}
    return any(
        isinstance(marker, Discriminator)
        for info in fields.values()
        for marker in info.metadata
    )


def polymorphic_root(model: type[BaseModel]) -> type[BaseModel] | None:
    """The class of a hierarchy that owns its table: the first with a Discriminator.

    ``None`` when the model is not part of a hierarchy stored in one table.
    """
    for klass in reversed(model.__mro__):
        if isinstance(klass, type) and _declares_discriminator(klass):
            return klass
    return None


def discriminator_value(model: type[BaseModel]) -> str:
    """What a hierarchy's discriminator column holds for rows of ``model``.

    ``Settings.discriminator`` of the class itself (not inherited), or its name.
    """
    settings = model.__dict__.get("Settings")
    value = vars(settings).get("discriminator") if settings is not None else None
    return str(value or model.__name__)


def _discriminator_column(
    model_name: str, columns: tuple[Column, ...]
) -> Column | None:
    marked = [column for column in columns if column.discriminator]
    if len(marked) > 1:
        names = ", ".join(column.field_name for column in marked)
        raise ConfigurationError(
            f"{model_name} marks {names} as Discriminator(); a hierarchy has one "
            "discriminator column"
        )
    if marked and (marked[0].is_primary_key or marked[0].type.cql != "text"):
        raise ConfigurationError(
            f"{model_name}.{marked[0].field_name} is the Discriminator(); it must be "
            "a regular str field, not part of the primary key"
        )
    return marked[0] if marked else None


def build_schema(model: type[BaseModel]) -> TableSchema:
    """Read a model class into a :class:`TableSchema`.

    :raises ConfigurationError: the model cannot be a CQL table as declared.
    """
    model_name = model.__name__
    root = polymorphic_root(model)
    table = check_identifier("table", table_name(root or model), owner=model_name)
    keyspace = settings_value(model, "keyspace")
    if keyspace is not None:
        check_identifier("keyspace", keyspace, owner=model_name)

    columns = tuple(
        _build_column(model_name, name, info)
        for name, info in model.model_fields.items()
    )
    partition_key = _ordered_keys(
        model_name, [c for c in columns if c.partition_key is not None], "partition"
    )
    clustering_key = _ordered_keys(
        model_name, [c for c in columns if c.clustering_key is not None], "clustering"
    )
    if not partition_key:
        raise ConfigurationError(
            f"{model_name} has no partition key: mark at least one field "
            "Annotated[..., PrimaryKey()]"
        )

    schema = TableSchema(
        model=model,
        model_name=model_name,
        table=table,
        keyspace=keyspace,
        columns=columns,
        partition_key=partition_key,
        clustering_key=clustering_key,
        options=_table_options(model),
        user_types=_ordered_user_types(columns),
        by_field={column.field_name: column for column in columns},
        by_name={column.name: column for column in columns},
        discriminator=_discriminator_column(model_name, columns),
        discriminator_value=discriminator_value(model) if root else None,
        root=root,
    )
    _check_counter_rules(schema)
    return schema


def _build_column(model_name: str, field_name: str, info: Any) -> Column:
    name = info.alias or field_name
    if not _COLUMN_NAME.fullmatch(name):
        raise ConfigurationError(
            f"{model_name}.{field_name} would be stored as column {name!r}; a column "
            "name is letters, digits and underscores, starting with a letter or _"
        )
    metadata = tuple(info.metadata)
    try:
        cql_type = column_type(info.annotation, metadata)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"{model_name}.{field_name}: {error}") from None

    partition = next((m for m in metadata if isinstance(m, PrimaryKey)), None)
    clustering = next((m for m in metadata if isinstance(m, ClusteringKey)), None)
    index = next((m for m in metadata if isinstance(m, Indexed)), None)
    if index is not None and index.name is not None:
        check_identifier("index", index.name, owner=f"{model_name}.{field_name}")
    if partition and clustering:
        raise ConfigurationError(
            f"{model_name}.{field_name} is marked both PrimaryKey() and "
            "ClusteringKey(); a column is one or the other"
        )
    is_key = partition is not None or clustering is not None
    frozen = cql_type.cql.startswith("frozen<")
    unfrozen = (cql_type.is_collection or bool(cql_type.user_types)) and not frozen
    if is_key and (unfrozen or cql_type.vector is not None):
        raise ConfigurationError(
            f"{model_name}.{field_name} is a key of type {cql_type.cql}; key "
            "columns of collection type must be marked Frozen()"
        )

    is_discriminator = any(isinstance(m, Discriminator) for m in metadata)
    if (is_discriminator or cql_type.vector is not None) and index is None:
        # Queries on a subclass filter on the discriminator, and similarity search
        # needs an index on the vector: both get an SAI index unless one is given.
        index = Indexed()
    return Column(
        field_name=field_name,
        name=name,
        type=cql_type,
        nullable=_allows_none(info.annotation),
        partition_key=partition.index if partition else None,
        clustering_key=clustering.index if clustering else None,
        clustering_order=clustering.order if clustering else "ASC",
        static=any(isinstance(m, Static) for m in metadata),
        index=index,
        discriminator=is_discriminator,
    )


def _allows_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return type(None) in typing.get_args(annotation)
    return annotation is type(None)


def _ordered_keys(
    model_name: str, columns: list[Column], kind: str
) -> tuple[Column, ...]:
    def position(column: Column) -> int:
        value = column.partition_key if kind == "partition" else column.clustering_key
        return value or 0

    ordered = sorted(columns, key=position)
    positions = [position(column) for column in ordered]
    if len(set(positions)) != len(positions):
        names = ", ".join(column.field_name for column in ordered)
        raise ConfigurationError(
            f"{model_name}: the {kind} key columns {names} share a position; give "
            f"each a distinct index, e.g. PrimaryKey(0), PrimaryKey(1)"
        )
    return tuple(ordered)


def _table_options(model: type[BaseModel]) -> dict[str, Any]:
    options = dict(settings_value(model, "table_options", None) or {})
    default_ttl = settings_value(model, "default_ttl")
    if default_ttl is not None:
        options["default_time_to_live"] = int(default_ttl)
    unknown = sorted(set(options) - _TABLE_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"{model.__name__}.Settings.table_options has unknown options "
            f"{', '.join(unknown)}; known ones are {', '.join(sorted(_TABLE_OPTIONS))}"
        )
    return options


def _ordered_user_types(columns: tuple[Column, ...]) -> tuple[type[UserType], ...]:
    ordered: list[type[UserType]] = []
    for column in columns:
        for user_type in column.type.user_types:
            if user_type not in ordered:
                ordered.append(user_type)
    return tuple(ordered)


def _check_counter_rules(schema: TableSchema) -> None:
    if not schema.is_counter_table:
        return
    for column in schema.columns:
        if not column.is_primary_key and not column.type.is_counter:
            raise ConfigurationError(
                f"{schema.model_name}.{column.field_name} is not a counter, but the "
                "table has counter columns; a counter table holds only its keys "
                "and counters, so move this field to another model"
            )
