"""How a model differs from its live table, and what ``sync_table`` may do about it.

The driver adapters describe a live table as a :class:`LiveTable`; everything
here is plain comparison. :func:`diff_table` lists every difference and says
whether Cassandra can apply it in place (a new column, an index, a table option)
or whether it needs a new table (a changed key, a column whose type changed).
:func:`sync_plan` is what ``sync_table`` runs: only the additive, in-place changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coodie._naming import quote
from coodie.cql_builder import (
    alter_table_add_column_cql,
    alter_table_options_cql,
    create_index_cql,
    create_table_cql,
    create_type_cql,
    index_name,
)
from coodie.schema import TableSchema
from coodie.types import column_type, user_type_name

__all__ = [
    "Change",
    "LiveTable",
    "SchemaDiff",
    "creates_index",
    "diff_table",
    "sync_plan",
]


@dataclass(frozen=True)
class LiveTable:
    """A table as the cluster describes it."""

    columns: Mapping[str, str]
    partition_key: tuple[str, ...]
    clustering_key: tuple[tuple[str, str], ...]
    indexes: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One difference between a model and its table.

    ``statement`` is the CQL that applies it in place, or ``None`` when the
    change needs a new table (and a data copy) instead.
    """

    kind: str
    target: str
    detail: str
    statement: str | None = None
    additive: bool = False

    @property
    def in_place(self) -> bool:
        """Whether Cassandra can apply the change to the existing table."""
        return self.statement is not None

    def __str__(self) -> str:
        how = "in place" if self.in_place else "needs a new table"
        return f"{self.kind} {self.target}: {self.detail} ({how})"


@dataclass(frozen=True)
class SchemaDiff:
    """Every difference between a model and its live table."""

    model_name: str
    table: str
    changes: tuple[Change, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the table matches the model."""
        return not self.changes

    @property
    def needs_new_table(self) -> tuple[Change, ...]:
        """The changes Cassandra cannot apply to the existing table."""
        return tuple(change for change in self.changes if not change.in_place)

    @property
    def statements(self) -> list[str]:
        """The CQL of every change that can be applied in place."""
        return [change.statement for change in self.changes if change.statement]

    def __str__(self) -> str:
        if self.is_empty:
            return f"{self.model_name} ({self.table}): up to date"
        lines = [f"{self.model_name} ({self.table}):"]
        lines.extend(f"  {change}" for change in self.changes)
        return "\n".join(lines)


def _normalized(cql_type: str) -> str:
    return cql_type.replace(" ", "").replace('"', "").lower()


def _option_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return repr(sorted((str(k), _option_text(v)) for k, v in value.items()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower()


def diff_table(
    schema: TableSchema,
    live: LiveTable | None,
    keyspace: str | None,
    live_types: Mapping[str, Mapping[str, str] | None] | None = None,
) -> SchemaDiff:
    """Compare a model's table schema with the live table (``None``: missing).

    ``live_types`` maps each user type's name to its live fields (``None`` when
    the type does not exist yet); fields a model's user type adds are reported.
    """
    type_changes = _user_type_changes(schema, live_types or {}, keyspace)
    if live is None:
        create = create_table_cql(schema, keyspace)
        change = Change("create", "table", "the table does not exist", create, True)
        return SchemaDiff(schema.model_name, schema.table, (*type_changes, change))

    changes: list[Change] = list(type_changes)
    changes.extend(_key_changes(schema, live))
    declared = {column.name for column in schema.columns}
    for column in schema.columns:
        live_type = live.columns.get(column.name)
        if live_type is None:
            if column.is_primary_key:
                continue
            statement = alter_table_add_column_cql(schema, column, keyspace)
            changes.append(
                Change("add", column.name, column.type.cql, statement, additive=True)
            )
        elif _normalized(live_type) != _normalized(column.type.cql):
            changes.append(
                Change(
                    "retype",
                    column.name,
                    f"{live_type} in the table, {column.type.cql} in the model",
                )
            )
    for name in live.columns:
        if name not in declared:
            table = schema.qualified_table(keyspace)
            statement = f"ALTER TABLE {table} DROP {quote(name)}"
            changes.append(Change("drop", name, "not declared by the model", statement))

    changes.extend(_index_changes(schema, live, keyspace))
    changes.extend(_option_changes(schema, live, keyspace))
    return SchemaDiff(schema.model_name, schema.table, tuple(changes))


def _user_type_changes(
    schema: TableSchema,
    live_types: Mapping[str, Mapping[str, str] | None],
    keyspace: str | None,
) -> list[Change]:
    changes = []
    for user_type in schema.user_types:
        name = user_type_name(user_type)
        live_fields = live_types.get(name)
        if live_fields is None:
            continue
        qualified = f"{quote(keyspace)}.{quote(name)}" if keyspace else quote(name)
        for field_name, info in user_type.model_fields.items():
            column = info.alias or field_name
            if column in live_fields:
                continue
            cql_type = column_type(info.annotation, tuple(info.metadata), nested=True)
            statement = f"ALTER TYPE {qualified} ADD {quote(column)} {cql_type.cql}"
            changes.append(
                Change(
                    "add type field", f"{name}.{column}", cql_type.cql, statement, True
                )
            )
    return changes


def _key_changes(schema: TableSchema, live: LiveTable) -> list[Change]:
    changes = []
    partition = tuple(column.name for column in schema.partition_key)
    if partition != live.partition_key:
        changes.append(
            Change(
                "key",
                "partition key",
                f"({', '.join(live.partition_key)}) in the table, "
                f"({', '.join(partition)}) in the model",
            )
        )
    clustering = tuple(
        (column.name, column.clustering_order) for column in schema.clustering_key
    )
    if clustering != live.clustering_key:
        shown = ", ".join(f"{name} {order}" for name, order in live.clustering_key)
        wanted = ", ".join(f"{name} {order}" for name, order in clustering)
        changes.append(
            Change(
                "key",
                "clustering key",
                f"({shown}) in the table, ({wanted}) in the model",
            )
        )
    return changes


def _index_changes(
    schema: TableSchema, live: LiveTable, keyspace: str | None
) -> list[Change]:
    changes = []
    wanted = {}
    for column in schema.columns:
        if column.index is not None:
            wanted[index_name(schema, column)] = column
    for name, column in wanted.items():
        if name not in live.indexes:
            statement = create_index_cql(schema, column, keyspace)
            changes.append(
                Change("add index", name, f"on {column.name}", statement, True)
            )
    for name, target in live.indexes.items():
        if name not in wanted:
            qualified = f"{quote(keyspace)}.{quote(name)}" if keyspace else quote(name)
            changes.append(
                Change(
                    "drop index",
                    name,
                    f"on {target}, not declared by the model",
                    f"DROP INDEX IF EXISTS {qualified}",
                )
            )
    return changes


def _option_changes(
    schema: TableSchema, live: LiveTable, keyspace: str | None
) -> list[Change]:
    changed = {
        name: value
        for name, value in schema.options.items()
        if _option_text(live.options.get(name)) != _option_text(value)
    }
    if not changed:
        return []
    statement = alter_table_options_cql(schema, changed, keyspace)
    detail = ", ".join(f"{name}={value!r}" for name, value in changed.items())
    return [Change("options", "table options", detail, statement, additive=True)]


def creates_index(cql: str) -> bool:
    """Whether a statement of :func:`sync_plan` creates an index."""
    return cql.startswith("CREATE INDEX")


def sync_plan(
    schema: TableSchema,
    live: LiveTable | None,
    keyspace: str | None,
    live_types: Mapping[str, Mapping[str, str] | None] | None = None,
) -> tuple[list[str], SchemaDiff]:
    """The statements ``sync_table`` runs, and the full difference it worked from.

    Only additive changes run: user types, the table, new columns, new indexes
    and declared table options. Nothing is dropped or retyped.
    """
    diff = diff_table(schema, live, keyspace, live_types)
    statements = [create_type_cql(t, keyspace) for t in schema.user_types]
    statements.extend(
        change.statement
        for change in diff.changes
        if change.additive and change.statement
    )
    if live is None:
        statements.extend(
            create_index_cql(schema, column, keyspace)
            for column in schema.columns
            if column.index is not None
        )
    return statements, diff
