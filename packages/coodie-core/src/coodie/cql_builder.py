"""CQL text for every statement coodie sends, with ``?`` bind markers.

Each function takes a :class:`~coodie.schema.TableSchema` (or a checked name) and
the *shape* of an intent, never a value: values always travel as bind values, so
nothing a user passes can change a statement's text. Identifiers are checked and
double-quoted. The functions that build DML are cached per schema and shape, so
the hot path looks the text up instead of formatting it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from coodie.exceptions import InvalidQueryError
from coodie.schema import Column, TableSchema, check_identifier, quote
from coodie.types import UserType, column_type, user_type_name

__all__ = [
    "Assignment",
    "Condition",
    "alter_keyspace_cql",
    "alter_table_add_column_cql",
    "batch_cql",
    "create_index_cql",
    "create_keyspace_cql",
    "create_materialized_view_cql",
    "create_table_cql",
    "create_type_cql",
    "delete_cql",
    "drop_keyspace_cql",
    "drop_table_cql",
    "insert_cql",
    "select_cql",
    "truncate_cql",
    "update_cql",
]

WHERE_OPERATORS = frozenset(
    {"=", "<", "<=", ">", ">=", "IN", "CONTAINS", "CONTAINS KEY", "LIKE", "!="}
)
ASSIGNMENT_OPERATORS = frozenset(
    {"set", "append", "prepend", "add", "remove", "put", "set_at", "incr", "decr"}
)
AGGREGATES = frozenset({"COUNT", "MIN", "MAX", "SUM", "AVG"})
BatchKind = Literal["LOGGED", "UNLOGGED", "COUNTER"]


@dataclass(frozen=True)
class Condition:
    """``target op ?``: a column name (or ``token(...)``) compared with a value."""

    column: str
    operator: str = "="
    token: tuple[str, ...] = ()

    def cql(self) -> str:
        if self.operator not in WHERE_OPERATORS:
            raise InvalidQueryError(
                f"unknown operator {self.operator!r}; use one of "
                f"{', '.join(sorted(WHERE_OPERATORS))}"
            )
        if self.token:
            target = f"token({', '.join(quote(name) for name in self.token)})"
        else:
            target = quote(self.column)
        return f"{target} {self.operator} ?"


@dataclass(frozen=True)
class Assignment:
    """One change in an UPDATE: ``operator`` on ``column`` with bound values."""

    column: str
    operator: str = "set"

    def cql(self) -> str:
        name = quote(self.column)
        templates = {
            "set": f"{name} = ?",
            "append": f"{name} = {name} + ?",
            "prepend": f"{name} = ? + {name}",
            "add": f"{name} = {name} + ?",
            "remove": f"{name} = {name} - ?",
            "put": f"{name} = {name} + ?",
            "set_at": f"{name}[?] = ?",
            "incr": f"{name} = {name} + ?",
            "decr": f"{name} = {name} - ?",
        }
        try:
            return templates[self.operator]
        except KeyError:
            raise InvalidQueryError(
                f"unknown update operator {self.operator!r}; use one of "
                f"{', '.join(sorted(templates))}"
            ) from None


def _where(conditions: Sequence[Condition]) -> str:
    if not conditions:
        return ""
    return " WHERE " + " AND ".join(condition.cql() for condition in conditions)


def _if(conditions: Sequence[Condition], if_exists: bool) -> str:
    if if_exists and conditions:
        raise InvalidQueryError(
            "IF EXISTS and IF conditions cannot be combined; use one or the other"
        )
    if if_exists:
        return " IF EXISTS"
    if conditions:
        return " IF " + " AND ".join(condition.cql() for condition in conditions)
    return ""


def _using(ttl: bool, timestamp: bool) -> str:
    parts = [
        part for part, wanted in (("TTL ?", ttl), ("TIMESTAMP ?", timestamp)) if wanted
    ]
    return " USING " + " AND ".join(parts) if parts else ""


def _cql_literal(value: Any) -> str:
    """A literal for DDL options (never for user data, which is always bound)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_cql_literal(str(key))}: {_cql_literal(item)}"
            for key, item in value.items()
        )
        return "{" + items + "}"
    raise InvalidQueryError(f"{value!r} cannot be written as a CQL option value")


def _with_options(options: Mapping[str, Any], prefix: str = " WITH ") -> str:
    if not options:
        return ""
    parts = [f"{name} = {_cql_literal(value)}" for name, value in options.items()]
    return prefix + " AND ".join(parts)


# -- keyspaces ---------------------------------------------------------------------


def _replication(
    replication_factor: int, strategy: str, data_centers: Mapping[str, int] | None
) -> str:
    if strategy == "SimpleStrategy":
        if (
            not isinstance(replication_factor, int)
            or isinstance(replication_factor, bool)
            or replication_factor < 1
        ):
            raise InvalidQueryError(
                f"replication_factor must be a whole number of at least 1, not "
                f"{replication_factor!r}"
            )
        options: dict[str, Any] = {
            "class": "SimpleStrategy",
            "replication_factor": int(replication_factor),
        }
    elif strategy == "NetworkTopologyStrategy":
        if not data_centers:
            raise InvalidQueryError(
                "NetworkTopologyStrategy needs data_centers={'dc1': 3, ...}"
            )
        options = {"class": "NetworkTopologyStrategy"}
        for data_center, factor in data_centers.items():
            if not isinstance(factor, int) or factor < 0:
                raise InvalidQueryError(
                    f"replication factor of data centre {data_center!r} must be a "
                    "whole number of at least 0"
                )
            options[str(data_center)] = factor
    else:
        raise InvalidQueryError(
            f"unknown replication strategy {strategy!r}; use SimpleStrategy or "
            "NetworkTopologyStrategy"
        )
    return _cql_literal(options)


def _check_durable_writes(durable_writes: object) -> None:
    if not isinstance(durable_writes, bool):
        raise InvalidQueryError(
            f"durable_writes must be True or False, not {durable_writes!r}"
        )


def create_keyspace_cql(
    name: str,
    replication_factor: int = 1,
    *,
    strategy: str = "SimpleStrategy",
    data_centers: Mapping[str, int] | None = None,
    durable_writes: bool = True,
    if_not_exists: bool = True,
) -> str:
    """``CREATE KEYSPACE`` with SimpleStrategy or NetworkTopologyStrategy."""
    check_identifier("keyspace", name)
    _check_durable_writes(durable_writes)
    guard = " IF NOT EXISTS" if if_not_exists else ""
    replication = _replication(replication_factor, strategy, data_centers)
    return (
        f"CREATE KEYSPACE{guard} {quote(name)} WITH replication = {replication}"
        f" AND durable_writes = {_cql_literal(durable_writes)}"
    )


def alter_keyspace_cql(
    name: str,
    replication_factor: int = 1,
    *,
    strategy: str = "SimpleStrategy",
    data_centers: Mapping[str, int] | None = None,
    durable_writes: bool = True,
) -> str:
    """``ALTER KEYSPACE`` to new replication settings."""
    check_identifier("keyspace", name)
    _check_durable_writes(durable_writes)
    replication = _replication(replication_factor, strategy, data_centers)
    return (
        f"ALTER KEYSPACE {quote(name)} WITH replication = {replication}"
        f" AND durable_writes = {_cql_literal(durable_writes)}"
    )


def drop_keyspace_cql(name: str, *, if_exists: bool = True) -> str:
    """``DROP KEYSPACE``."""
    check_identifier("keyspace", name)
    return f"DROP KEYSPACE{' IF EXISTS' if if_exists else ''} {quote(name)}"


# -- tables, types, indexes, views ----------------------------------------------------


def create_type_cql(
    user_type: type[UserType], keyspace: str | None, *, if_not_exists: bool = True
) -> str:
    """``CREATE TYPE`` for a :class:`~coodie.types.UserType`."""
    name = check_identifier("type", user_type_name(user_type))
    fields = []
    for field_name, info in user_type.model_fields.items():
        cql_type = column_type(info.annotation, tuple(info.metadata), nested=True)
        fields.append(f"{quote(info.alias or field_name)} {cql_type.cql}")
    if keyspace:
        qualified = f"{quote(check_identifier('keyspace', keyspace))}.{quote(name)}"
    else:
        qualified = quote(name)
    guard = " IF NOT EXISTS" if if_not_exists else ""
    return f"CREATE TYPE{guard} {qualified} ({', '.join(fields)})"


def _column_definition(column: Column) -> str:
    static = " STATIC" if column.static else ""
    return f"{column.quoted} {column.type.cql}{static}"


def create_table_cql(
    schema: TableSchema, keyspace: str | None = None, *, if_not_exists: bool = True
) -> str:
    """``CREATE TABLE`` with the primary key, clustering order and table options."""
    definitions = [_column_definition(column) for column in schema.columns]
    partition = ", ".join(column.quoted for column in schema.partition_key)
    key = ", ".join([f"({partition})"] + [c.quoted for c in schema.clustering_key])
    definitions.append(f"PRIMARY KEY ({key})")

    options = []
    if any(column.clustering_order == "DESC" for column in schema.clustering_key):
        order = ", ".join(
            f"{column.quoted} {column.clustering_order}"
            for column in schema.clustering_key
        )
        options.append(f"CLUSTERING ORDER BY ({order})")
    options.extend(
        f"{name} = {_cql_literal(value)}" for name, value in schema.options.items()
    )
    with_clause = " WITH " + " AND ".join(options) if options else ""

    guard = " IF NOT EXISTS" if if_not_exists else ""
    table = schema.qualified_table(keyspace)
    return f"CREATE TABLE{guard} {table} ({', '.join(definitions)}){with_clause}"


def alter_table_add_column_cql(
    schema: TableSchema, column: Column, keyspace: str | None = None
) -> str:
    """``ALTER TABLE ... ADD`` one column."""
    table = schema.qualified_table(keyspace)
    return f"ALTER TABLE {table} ADD {_column_definition(column)}"


def alter_table_options_cql(
    schema: TableSchema, options: Mapping[str, Any], keyspace: str | None = None
) -> str:
    """``ALTER TABLE ... WITH`` new table options."""
    return f"ALTER TABLE {schema.qualified_table(keyspace)}{_with_options(options)}"


def drop_table_cql(
    schema: TableSchema, keyspace: str | None = None, *, if_exists: bool = True
) -> str:
    """``DROP TABLE``."""
    guard = " IF EXISTS" if if_exists else ""
    return f"DROP TABLE{guard} {schema.qualified_table(keyspace)}"


def truncate_cql(schema: TableSchema, keyspace: str | None = None) -> str:
    """``TRUNCATE``: remove every row of the table."""
    return f"TRUNCATE {schema.qualified_table(keyspace)}"


def index_name(schema: TableSchema, column: Column) -> str:
    """The name of a column's index: the marker's, or ``<table>_<column>_idx``.

    A generated name over CQL's 48 characters is cut and ends with a hash of the
    whole name, so two long column names never share an index name.
    """
    if column.index is not None and column.index.name:
        return column.index.name
    name = f"{schema.table}_{column.name}_idx"
    if len(name) <= 48:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[:39]}_{digest}"


def create_index_cql(
    schema: TableSchema,
    column: Column,
    keyspace: str | None = None,
    *,
    if_not_exists: bool = True,
) -> str:
    """``CREATE INDEX`` for a column marked ``Indexed``: SAI, secondary or SASI."""
    index = column.index
    if index is None:
        raise InvalidQueryError(
            f"{schema.model_name}.{column.field_name} has no Indexed() marker"
        )
    target = column.quoted
    if index.target in ("keys", "entries", "full"):
        target = f"{index.target.upper()}({column.quoted})"

    name = quote(check_identifier("index", index_name(schema, column)))
    guard = " IF NOT EXISTS" if if_not_exists else ""
    table = schema.qualified_table(keyspace)
    statement = f"CREATE INDEX{guard} {name} ON {table} ({target})"

    options = dict(index.options)
    if column.type.vector is not None and index.kind == "sai":
        options.setdefault("similarity_function", column.type.vector.similarity)
    if index.kind == "sai":
        statement += " USING 'sai'"
    elif index.kind == "sasi":
        statement += " USING 'org.apache.cassandra.index.sasi.SASIIndex'"
    if options:
        statement += f" WITH OPTIONS = {_cql_literal(options)}"
    return statement


def create_materialized_view_cql(
    view: TableSchema,
    base: TableSchema,
    keyspace: str | None = None,
    *,
    if_not_exists: bool = True,
) -> str:
    """``CREATE MATERIALIZED VIEW`` of ``base`` keyed as the ``view`` schema says."""
    columns = ", ".join(column.quoted for column in view.columns)
    not_null = " AND ".join(
        f"{column.quoted} IS NOT NULL" for column in view.primary_key
    )
    partition = ", ".join(column.quoted for column in view.partition_key)
    key = ", ".join([f"({partition})"] + [c.quoted for c in view.clustering_key])
    guard = " IF NOT EXISTS" if if_not_exists else ""
    statement = (
        f"CREATE MATERIALIZED VIEW{guard} {view.qualified_table(keyspace)} AS "
        f"SELECT {columns} FROM {base.qualified_table(keyspace)} "
        f"WHERE {not_null} PRIMARY KEY ({key})"
    )
    if any(column.clustering_order == "DESC" for column in view.clustering_key):
        order = ", ".join(
            f"{column.quoted} {column.clustering_order}"
            for column in view.clustering_key
        )
        statement += f" WITH CLUSTERING ORDER BY ({order})"
    return statement


# -- data manipulation ----------------------------------------------------------------


@lru_cache(maxsize=4096)
def insert_cql(
    schema: TableSchema,
    keyspace: str | None,
    columns: tuple[str, ...],
    *,
    if_not_exists: bool = False,
    ttl: bool = False,
    timestamp: bool = False,
) -> str:
    """``INSERT`` of ``columns``, bound in that order, then TTL and TIMESTAMP."""
    names = ", ".join(quote(name) for name in columns)
    markers = ", ".join("?" for _ in columns)
    guard = " IF NOT EXISTS" if if_not_exists else ""
    return (
        f"INSERT INTO {schema.qualified_table(keyspace)} ({names}) VALUES ({markers})"
        f"{guard}{_using(ttl, timestamp)}"
    )


@lru_cache(maxsize=1024)
def insert_json_cql(
    schema: TableSchema, keyspace: str | None, *, if_not_exists: bool = False
) -> str:
    """``INSERT ... JSON ?``: one bound JSON document; missing columns stay unset."""
    guard = " IF NOT EXISTS" if if_not_exists else ""
    return f"INSERT INTO {schema.qualified_table(keyspace)} JSON ? DEFAULT UNSET{guard}"


@lru_cache(maxsize=4096)
def update_cql(
    schema: TableSchema,
    keyspace: str | None,
    assignments: tuple[Assignment, ...],
    where: tuple[Condition, ...],
    *,
    conditions: tuple[Condition, ...] = (),
    if_exists: bool = False,
    ttl: bool = False,
    timestamp: bool = False,
) -> str:
    """``UPDATE``: TTL/TIMESTAMP values, then assignments, WHERE and IF values."""
    if not assignments:
        raise InvalidQueryError(f"an update of {schema.model_name} needs a change")
    changes = ", ".join(assignment.cql() for assignment in assignments)
    return (
        f"UPDATE {schema.qualified_table(keyspace)}{_using(ttl, timestamp)} SET "
        f"{changes}{_where(where)}{_if(conditions, if_exists)}"
    )


@lru_cache(maxsize=4096)
def delete_cql(
    schema: TableSchema,
    keyspace: str | None,
    where: tuple[Condition, ...],
    *,
    columns: tuple[str, ...] = (),
    elements: tuple[str, ...] = (),
    conditions: tuple[Condition, ...] = (),
    if_exists: bool = False,
    timestamp: bool = False,
) -> str:
    """``DELETE`` of rows, of some ``columns``, or of collection ``elements``.

    Each name in ``elements`` deletes ``column[?]``; its key or index is bound
    before the WHERE values.
    """
    targets = [quote(name) for name in columns] + [f"{quote(n)}[?]" for n in elements]
    what = " " + ", ".join(targets) if targets else ""
    return (
        f"DELETE{what} FROM {schema.qualified_table(keyspace)}"
        f"{_using(False, timestamp)}{_where(where)}{_if(conditions, if_exists)}"
    )


@lru_cache(maxsize=4096)
def select_cql(
    schema: TableSchema,
    keyspace: str | None,
    where: tuple[Condition, ...] = (),
    *,
    columns: tuple[str, ...] = (),
    selectors: tuple[str, ...] = (),
    distinct: bool = False,
    json_rows: bool = False,
    group_by: tuple[str, ...] = (),
    order_by: tuple[tuple[str, str], ...] = (),
    ann_of: str | None = None,
    limit: bool = False,
    per_partition_limit: bool = False,
    allow_filtering: bool = False,
) -> str:
    """``SELECT``; LIMIT and PER PARTITION LIMIT are bound after the WHERE values.

    ``selectors`` are ready CQL selectors (aggregates, ``WRITETIME(...)``) built by
    :func:`aggregate_selector` and :func:`metadata_selector`.
    """
    projection = [quote(name) for name in columns] + list(selectors)
    if distinct and not columns:
        projection = [column.quoted for column in schema.partition_key]
    selection = ", ".join(projection) or "*"
    prefix = (
        "SELECT DISTINCT " if distinct else "SELECT JSON " if json_rows else "SELECT "
    )

    statement = f"{prefix}{selection} FROM {schema.qualified_table(keyspace)}"
    statement += _where(where)
    if group_by:
        statement += " GROUP BY " + ", ".join(quote(name) for name in group_by)
    if ann_of is not None:
        if order_by:
            raise InvalidQueryError("ANN OF ordering replaces order_by(); use one")
        statement += f" ORDER BY {quote(ann_of)} ANN OF ?"
    elif order_by:
        statement += " ORDER BY " + ", ".join(
            f"{quote(name)} {direction}" for name, direction in order_by
        )
    if per_partition_limit:
        statement += " PER PARTITION LIMIT ?"
    if limit:
        statement += " LIMIT ?"
    if allow_filtering:
        statement += " ALLOW FILTERING"
    return statement


def aggregate_selector(function: str, column: str | None = None) -> str:
    """A CQL aggregate selector: ``COUNT(*)``, ``MAX("score")``, ..."""
    function = function.upper()
    if function not in AGGREGATES:
        raise InvalidQueryError(
            f"unknown aggregate {function!r}; use one of "
            f"{', '.join(sorted(AGGREGATES))}"
        )
    if column is None:
        if function != "COUNT":
            raise InvalidQueryError(f"{function} needs a column")
        return "COUNT(*)"
    return f"{function}({quote(column)})"


def metadata_selector(function: Literal["WRITETIME", "TTL"], column: str) -> str:
    """``WRITETIME("col")`` or ``TTL("col")``."""
    if function not in ("WRITETIME", "TTL"):
        raise InvalidQueryError(f"unknown column metadata {function!r}")
    return f"{function}({quote(column)})"


def batch_cql(
    statements: Iterable[str], kind: BatchKind = "LOGGED", *, timestamp: bool = False
) -> str:
    """One ``BEGIN ... APPLY BATCH`` text of several statements.

    With ``timestamp`` the batch's ``USING TIMESTAMP ?`` is bound first.
    """
    if kind not in ("LOGGED", "UNLOGGED", "COUNTER"):
        raise InvalidQueryError(f"unknown batch kind {kind!r}")
    begin = "BEGIN BATCH" if kind == "LOGGED" else f"BEGIN {kind} BATCH"
    using = " USING TIMESTAMP ?" if timestamp else ""
    body = "; ".join(statements)
    return f"{begin}{using} {body}; APPLY BATCH"


def json_value(document: Mapping[str, Any]) -> str:
    """Serialise a mapping for ``INSERT ... JSON ?``."""
    return json.dumps(document, default=str, separators=(",", ":"))
