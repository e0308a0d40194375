"""Intents turned into statements: CQL text, bind values and request flags.

Both front doors call these functions and hand the :class:`Statement` to their
driver adapter, so the decision of what to send is made here once. The text comes
from the cached builders of :mod:`coodie.cql_builder`; building a statement for a
known shape costs a dictionary lookup and the conversion of its values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from coodie.cql_builder import (
    Assignment,
    Condition,
    delete_cql,
    insert_cql,
    metadata_selector,
    select_cql,
    update_cql,
)
from coodie.document import DocumentBase, bind_value, check_writable
from coodie.exceptions import InvalidQueryError
from coodie.schema import Column, TableSchema

__all__ = [
    "CONSISTENCY_LEVELS",
    "Statement",
    "consistency_level",
    "delete_document_statement",
    "get_statement",
    "insert_statement",
    "update_document_statement",
]

# The native protocol's consistency codes, so that no driver import is needed here.
CONSISTENCY_LEVELS = {
    "ANY": 0,
    "ONE": 1,
    "TWO": 2,
    "THREE": 3,
    "QUORUM": 4,
    "ALL": 5,
    "LOCAL_QUORUM": 6,
    "EACH_QUORUM": 7,
    "SERIAL": 8,
    "LOCAL_SERIAL": 9,
    "LOCAL_ONE": 10,
}

COLLECTION_OPERATORS = (
    "append",
    "prepend",
    "add",
    "remove",
    "put",
    "set_at",
    "incr",
    "decr",
)
# Operators whose repetition changes the result: a retried request would apply twice.
_REPEATING_OPERATORS = frozenset({"append", "prepend", "incr", "decr"})


def consistency_level(level: str | int | None) -> int | None:
    """Accept a consistency level by name (``"QUORUM"``) or protocol code.

    :raises InvalidQueryError: an unknown level.
    """
    if level is None or (
        isinstance(level, int) and level in CONSISTENCY_LEVELS.values()
    ):
        return level
    if isinstance(level, str) and level.upper() in CONSISTENCY_LEVELS:
        return CONSISTENCY_LEVELS[level.upper()]
    raise InvalidQueryError(
        f"unknown consistency level {level!r}; use one of "
        f"{', '.join(CONSISTENCY_LEVELS)}"
    )


class Statement:
    """One request: text with ``?`` markers, the values, and how to send it."""

    __slots__ = (
        "conditional",
        "consistency",
        "counter",
        "cql",
        "fetch_size",
        "idempotent",
        "origin",
        "paging_state",
        "serial_consistency",
        "timeout",
        "values",
    )

    def __init__(
        self,
        cql: str,
        values: Sequence[Any] = (),
        *,
        idempotent: bool = False,
        conditional: bool = False,
        counter: bool = False,
        consistency: int | None = None,
        serial_consistency: int | None = None,
        timeout: float | None = None,
        fetch_size: int | None = None,
        paging_state: bytes | None = None,
        origin: str | None = None,
    ) -> None:
        self.cql = cql
        self.origin = origin
        self.values = values
        self.idempotent = idempotent
        self.conditional = conditional
        self.counter = counter
        self.consistency = consistency
        self.serial_consistency = serial_consistency
        self.timeout = timeout
        self.fetch_size = fetch_size
        self.paging_state = paging_state

    def __repr__(self) -> str:
        # Bound values are left out on purpose: a column may hold a secret.
        return f"Statement({self.cql!r}, {len(self.values)} values)"


def _using_values(ttl: int | None, timestamp: int | None) -> list[Any]:
    values: list[Any] = []
    if ttl is not None:
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise InvalidQueryError(
                f"ttl must be a whole number of seconds, not {ttl!r}"
            )
        values.append(ttl)
    if timestamp is not None:
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise InvalidQueryError(
                f"timestamp must be microseconds since the epoch as an int, "
                f"not {timestamp!r}"
            )
        values.append(timestamp)
    return values


@cache
def _insert_texts(schema: TableSchema) -> dict[tuple[Any, ...], str]:
    """INSERT texts of one table by shape: a plain dict lookup on the hot path."""
    return {}


def all_columns(schema: TableSchema) -> tuple[str, ...]:
    """Every column a query of the model reads, so rows come back in that order.

    A class of a hierarchy stored in one table reads the columns of every class
    under it as well, so that each row can become a whole document of its own
    class, including classes defined after the first query.
    """
    root = schema.root
    if root is None:
        return own_columns(schema)
    registered: dict[str, Any] = root._coodie_subclasses  # type: ignore[attr-defined]
    return _hierarchy_columns(schema, len(registered))


@cache
def own_columns(schema: TableSchema) -> tuple[str, ...]:
    """The model's own columns, in field order."""
    return tuple(column.name for column in schema.columns)


@cache
def _hierarchy_columns(schema: TableSchema, registered: int) -> tuple[str, ...]:
    # ``registered`` (how many classes the hierarchy has) is part of the cache key
    # only: a class defined later makes a new entry.
    names = list(own_columns(schema))
    root: Any = schema.root
    for klass in root._coodie_subclasses.values():
        if issubclass(klass, schema.model):
            names.extend(
                column.name
                for column in klass.table_schema().columns
                if column.name not in names
            )
    return tuple(names)


@cache
def _insert_plan(
    schema: TableSchema,
) -> tuple[tuple[str, Column, bool, bool], ...]:
    """Per column: its field, whether it is a key, and whether every value needs
    checking or converting."""
    return tuple(
        (
            column.field_name,
            column,
            column.is_primary_key,
            column.is_primary_key or column.type.to_db is not None,
        )
        for column in schema.columns
    )


@cache
def _key_fields(schema: TableSchema) -> frozenset[str]:
    return frozenset(column.field_name for column in schema.primary_key)


@cache
def _key_where(schema: TableSchema) -> tuple[Condition, ...]:
    return tuple(Condition(column.name) for column in schema.primary_key)


def insert_statement(
    document: DocumentBase,
    *,
    keyspace: str | None,
    if_not_exists: bool = False,
    ttl: int | None = None,
    timestamp: int | None = None,
) -> Statement:
    """``INSERT`` of every column of ``document``.

    :raises InvalidQueryError: a key is empty or a value does not fit its column.
    """
    model = type(document)
    check_writable(model, "be saved")
    schema = model.table_schema()
    if schema.is_counter_table:
        raise InvalidQueryError(
            f"{schema.model_name} is a counter table; counters cannot be inserted, "
            "change them with increment() or decrement()"
        )
    values = document.__dict__
    bound = []
    for name, column, key, checked in _insert_plan(schema):
        value = values.get(name)
        if value is None or checked:
            value = bind_value(schema, column, value, key=key)
        bound.append(value)
    shape = (keyspace, if_not_exists, ttl is not None, timestamp is not None)
    cql = _insert_texts(schema).get(shape)
    if cql is None:
        cql = insert_cql(
            schema,
            keyspace,
            own_columns(schema),
            if_not_exists=if_not_exists,
            ttl=ttl is not None,
            timestamp=timestamp is not None,
        )
        _insert_texts(schema)[shape] = cql
    if ttl is not None or timestamp is not None:
        bound.extend(_using_values(ttl, timestamp))
    return Statement(
        cql,
        bound,
        # Repeating a write of a whole list appends it again (a retry reuses the
        # client timestamp), so such inserts are not idempotent.
        idempotent=not if_not_exists and not _writes_whole_list(schema, values),
        conditional=if_not_exists,
        origin=schema.model_name,
    )


def save_statement(
    document: DocumentBase,
    *,
    keyspace: str | None,
    ttl: int | None = None,
    timestamp: int | None = None,
) -> Statement | None:
    """What ``save()`` sends: the whole document, or only what changed.

    A document the database has never held (or one given a TTL or a write time)
    is inserted whole. A document that was read or written before sends an
    UPDATE of the fields assigned since, plus its collection and user-type
    fields, which may have changed in place; ``None`` when there is nothing to
    write. A changed primary key means another row, so that is inserted whole.
    """
    model = type(document)
    schema = model.table_schema()
    changed = document.changed_fields()
    if (
        changed is None
        or ttl is not None
        or timestamp is not None
        or schema.is_counter_table
        or changed & _key_fields(schema)
    ):
        return insert_statement(
            document, keyspace=keyspace, ttl=ttl, timestamp=timestamp
        )

    check_writable(model, "be saved")
    columns = [
        column
        for column in schema.columns
        if column.field_name in changed and not column.is_primary_key
    ]
    if not columns:
        return None
    values = document.__dict__
    bound = [
        bind_value(schema, column, values[column.field_name]) for column in columns
    ]
    assignments = tuple(Assignment(column.name) for column in columns)
    cql = update_cql(schema, keyspace, assignments, _key_where(schema))
    return Statement(
        cql,
        bound + document.key_values(),
        idempotent=assignments_idempotent(assignments, schema),
        origin=schema.model_name,
    )


def column_metadata_statement(
    document: DocumentBase,
    function: str,
    field_name: str,
    *,
    keyspace: str | None,
) -> Statement:
    """``SELECT WRITETIME(col)`` or ``TTL(col)`` of one document's row.

    :raises InvalidQueryError: an unknown field, or a key column (which has no
        write time or TTL of its own).
    """
    schema = type(document).table_schema()
    column = schema.column_for(field_name)
    if column.is_primary_key or column.type.is_collection:
        raise InvalidQueryError(
            f"{schema.model_name}.{field_name} has no {function} of its own: key "
            "columns and collections are not supported; ask for a regular column"
        )
    selector = metadata_selector(function, column.name)  # type: ignore[arg-type]
    cql = select_cql(schema, keyspace, _key_where(schema), selectors=(selector,))
    return Statement(cql, document.key_values(), idempotent=True)


def get_statement(
    model: type[DocumentBase], keyspace: str | None, keys: Mapping[str, Any]
) -> Statement:
    """``SELECT`` of one row by its full primary key.

    :raises InvalidQueryError: a key part is missing, unknown or of a wrong type.
    """
    schema = model.table_schema()
    expected = [column.field_name for column in schema.primary_key]
    if set(keys) != set(expected):
        unknown = sorted(set(keys) - set(expected))
        missing = [name for name in expected if name not in keys]
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{', '.join(unknown)} not part of the key")
        raise InvalidQueryError(
            f"{schema.model_name}.get() takes the whole primary key "
            f"({', '.join(expected)}): {'; '.join(problems)}; use find() to filter "
            "on other fields"
        )
    values = [
        model.validate_filter_value(column, keys[column.field_name])
        for column in schema.primary_key
    ]
    cql = select_cql(schema, keyspace, _key_where(schema), columns=all_columns(schema))
    return Statement(cql, values, idempotent=True)


def update_document_statement(
    document: DocumentBase,
    changes: Mapping[str, Any],
    *,
    keyspace: str | None,
    ttl: int | None = None,
    timestamp: int | None = None,
    if_exists: bool = False,
    if_conditions: Mapping[str, Any] | None = None,
) -> Statement:
    """``UPDATE`` of one document's row, by its primary key.

    ``changes`` maps a field to a new value, or ``field__op`` (``append``,
    ``prepend``, ``add``, ``remove``, ``put``, ``incr``, ``decr``) to an operand.

    :raises InvalidQueryError: an unknown field or operator, a key field, or a
        value that does not fit.
    """
    model = type(document)
    check_writable(model, "be updated")
    schema = model.table_schema()
    assignments, values = update_assignments(model, changes)
    conditions, condition_values = if_clause(model, if_conditions or {})
    key_values = document.key_values()
    where = _key_where(schema)
    static = {column.name for column in schema.columns if column.static}
    if static and all(assignment.column in static for assignment in assignments):
        # Static columns belong to the partition: the WHERE names only its key.
        where = where[: len(schema.partition_key)]
        key_values = key_values[: len(schema.partition_key)]

    cql = update_cql(
        schema,
        keyspace,
        assignments,
        where,
        conditions=conditions,
        if_exists=if_exists,
        ttl=ttl is not None,
        timestamp=timestamp is not None,
    )
    bound = _using_values(ttl, timestamp) + values + key_values + condition_values
    conditional = if_exists or bool(conditions)
    return Statement(
        cql,
        bound,
        idempotent=not conditional and assignments_idempotent(assignments, schema),
        conditional=conditional,
        counter=schema.is_counter_table,
        origin=schema.model_name,
    )


def assignments_idempotent(
    assignments: Sequence[Assignment], schema: TableSchema
) -> bool:
    """Whether repeating these changes leaves the row as applying them once does.

    Appends, prepends and counter changes repeat; so does setting a whole
    (not frozen) list, which a retry with the same timestamp appends again.
    """
    lists = _unfrozen_lists(schema)
    return all(
        a.operator not in _REPEATING_OPERATORS
        and not (a.operator == "set" and a.column in lists)
        for a in assignments
    )


@cache
def _unfrozen_lists(schema: TableSchema) -> frozenset[str]:
    return frozenset(
        column.name
        for column in schema.columns
        if column.type.empty is list and not column.type.cql.startswith("frozen<")
    )


def _writes_whole_list(schema: TableSchema, values: Mapping[str, Any]) -> bool:
    lists = _unfrozen_lists(schema)
    if not lists:
        return False
    return any(
        values.get(column.field_name)
        for column in schema.columns
        if column.name in lists
    )


def update_assignments(
    model: type[DocumentBase], changes: Mapping[str, Any]
) -> tuple[tuple[Assignment, ...], list[Any]]:
    """Parse ``field`` / ``field__op`` changes into assignments and bind values.

    :raises InvalidQueryError: an unknown field or operator, a change to a key
        column, or a value that does not fit.
    """
    schema = model.table_schema()
    if not changes:
        raise InvalidQueryError(f"an update of {schema.model_name} needs a change")
    assignments = []
    values: list[Any] = []
    for target, value in changes.items():
        field_name, _, operator = target.partition("__")
        column = schema.column_for(field_name)
        if column.is_primary_key:
            raise InvalidQueryError(
                f"{schema.model_name}.{field_name} is part of the primary key and "
                "cannot be updated; delete the row and save a new one"
            )
        if operator and operator not in COLLECTION_OPERATORS:
            raise InvalidQueryError(
                f"unknown update operator {operator!r} on {schema.model_name}."
                f"{field_name}; use one of {', '.join(COLLECTION_OPERATORS)}"
            )
        if column.type.is_counter and operator not in ("incr", "decr"):
            raise InvalidQueryError(
                f"{schema.model_name}.{field_name} is a counter; change it with "
                "increment() or decrement(), never by setting it"
            )
        if operator in ("incr", "decr") and not column.type.is_counter:
            raise InvalidQueryError(
                f"{schema.model_name}.{field_name} is not a counter; set its value "
                "instead of incrementing it"
            )
        if operator == "set_at":
            assignments.append(Assignment(column.name, operator))
            values.extend(_list_position_operand(model, column, value))
            continue
        if operator:
            if operator in ("append", "prepend", "remove", "add", "put"):
                if not column.type.is_collection:
                    raise InvalidQueryError(
                        f"{schema.model_name}.{field_name} is not a collection; "
                        f"{operator} needs a list, set or map field"
                    )
                if column.type.cql.startswith("frozen<"):
                    raise InvalidQueryError(
                        f"{schema.model_name}.{field_name} is a frozen collection, "
                        f"which is written whole; instead of {operator}, assign "
                        "the new value"
                    )
                value = _collection_operand(model, column, operator, value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise InvalidQueryError(
                    f"{schema.model_name}.{field_name}__{operator} takes an int"
                )
            assignments.append(Assignment(column.name, operator))
            values.append(value)
            continue
        assignments.append(Assignment(column.name))
        values.append(model.validate_filter_value(column, value))
    return tuple(assignments), values


def _list_position_operand(
    model: type[DocumentBase], column: Any, value: Any
) -> tuple[int, Any]:
    where = f"{model.__name__}.{column.field_name}__set_at"
    if column.type.empty is not list or column.type.cql.startswith("frozen<"):
        raise InvalidQueryError(
            f"{where} needs a (not frozen) list field; assign the whole value instead"
        )
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
    ):
        raise InvalidQueryError(
            f"{where} takes a (position, element) pair, e.g. (0, 'first'), not "
            f"{value!r}"
        )
    position, element = value
    return position, model.validate_element_value(column, "element", element)


def _collection_operand(
    model: type[DocumentBase], column: Any, operator: str, value: Any
) -> Any:
    where = f"{model.__name__}.{column.field_name}__{operator}"
    is_map = column.type.empty is dict
    if operator == "remove" and is_map:
        if isinstance(value, Mapping):
            raise InvalidQueryError(
                f"{where} takes the keys to remove, not a mapping; pass {list(value)!r}"
            )
        keys = value if isinstance(value, (list, set, frozenset, tuple)) else [value]
        converted = [model.validate_element_value(column, "key", key) for key in keys]
        try:
            return set(converted)
        except TypeError:
            raise InvalidQueryError(f"{where}: map keys must be hashable") from None
    if not isinstance(value, (list, set, frozenset, tuple, dict)):
        raise InvalidQueryError(
            f"{where} takes a collection of elements, not {value!r}; wrap a single "
            f"element, e.g. [{value!r}]"
        )
    container = column.type.empty
    try:
        if container is not None and not isinstance(value, container):
            value = container(value)
    except TypeError as error:
        raise InvalidQueryError(
            f"{where} cannot hold {value!r}: {error}; pass elements of the "
            "field's element type"
        ) from None
    return model.validate_filter_value(column, value)


def if_clause(
    model: type[DocumentBase], conditions: Mapping[str, Any]
) -> tuple[tuple[Condition, ...], list[Any]]:
    """Parse LWT ``IF`` conditions (``field`` or ``field__op``) with their values."""
    parsed = []
    values: list[Any] = []
    schema = model.table_schema()
    for target, value in conditions.items():
        field_name, _, lookup = target.partition("__")
        column = schema.column_for(field_name)
        if column.is_primary_key:
            raise InvalidQueryError(
                f"{schema.model_name}.{field_name} is part of the primary key, which "
                "an IF condition cannot test; the key already picks the row, so use "
                "if_exists=True to require it"
            )
        operator = LOOKUPS.get(lookup or "eq")
        if operator is None or operator not in ("=", "!=", "<", "<=", ">", ">=", "IN"):
            raise InvalidQueryError(
                f"unknown IF operator {lookup!r} on {schema.model_name}.{field_name}; "
                "use eq, ne, lt, lte, gt, gte or in"
            )
        parsed.append(Condition(column.name, operator))
        if operator == "IN":
            values.append([model.validate_filter_value(column, item) for item in value])
        else:
            values.append(model.validate_filter_value(column, value))
    return tuple(parsed), values


LOOKUPS = {
    "eq": "=",
    "ne": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "in": "IN",
    "contains": "CONTAINS",
    "contains_key": "CONTAINS KEY",
    "like": "LIKE",
}


def delete_document_statement(
    document: DocumentBase,
    *,
    keyspace: str | None,
    if_exists: bool = False,
    if_conditions: Mapping[str, Any] | None = None,
    timestamp: int | None = None,
) -> Statement:
    """``DELETE`` of one document's row, by its primary key."""
    model = type(document)
    check_writable(model, "be deleted")
    schema = model.table_schema()
    conditions, condition_values = if_clause(model, if_conditions or {})
    cql = delete_cql(
        schema,
        keyspace,
        _key_where(schema),
        conditions=conditions,
        if_exists=if_exists,
        timestamp=timestamp is not None,
    )
    values = _using_values(None, timestamp) + document.key_values() + condition_values
    conditional = if_exists or bool(conditions)
    return Statement(cql, values, idempotent=not conditional, conditional=conditional)
