"""The IO-free state of a query: filters, ordering, limits, and their statements.

A :class:`QueryState` is immutable; each chained call returns a new one. Both
front doors' ``QuerySet`` classes wrap one and only add the calls that execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from coodie.cql_builder import (
    Assignment,
    Condition,
    aggregate_selector,
    delete_cql,
    select_cql,
    update_cql,
)
from coodie.document import DocumentBase, check_writable
from coodie.exceptions import InvalidQueryError
from coodie.schema import TableSchema
from coodie.statements import (
    LOOKUPS,
    Statement,
    all_columns,
    assignments_idempotent,
    consistency_level,
    if_clause,
    update_assignments,
)

__all__ = ["QueryState"]


@dataclass(frozen=True)
class QueryState:
    """Everything a ``find()`` chain has said so far."""

    model: type[DocumentBase]
    where: tuple[Condition, ...] = ()
    where_values: tuple[Any, ...] = ()
    columns: tuple[str, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int | None = None
    per_partition_limit: int | None = None
    allow_filtering: bool = False
    distinct: bool = False
    fetch_size: int | None = None
    consistency: int | None = None
    serial_consistency: int | None = None
    timeout: float | None = None
    ann_of: tuple[str, list[float]] | None = None

    @classmethod
    def for_model(cls, model: type[DocumentBase]) -> QueryState:
        """A query of every row of ``model``: in a class hierarchy, its rows only."""
        state = cls(model)
        schema = model.table_schema()
        if schema.discriminator is None or schema.root is model:
            return state
        values = model.hierarchy_values()
        column = schema.discriminator.name
        if len(values) == 1:
            return replace(state, where=(Condition(column),), where_values=(values[0],))
        # Cassandra 5.0's indexes cannot serve IN, so a class with subclasses of
        # its own filters the rows the query reaches: cheap within a partition,
        # a scan of the table without one.
        return replace(
            state,
            where=(Condition(column, "IN"),),
            where_values=(list(values),),
            allow_filtering=True,
        )

    # -- building ---------------------------------------------------------------

    def filter(self, **lookups: Any) -> QueryState:
        """Add ``field=value`` or ``field__op=value`` conditions.

        :raises InvalidQueryError: an unknown field or operator, or a value that
            does not fit the field.
        """
        where = list(self.where)
        values = list(self.where_values)
        schema = self.model.table_schema()
        for target, value in lookups.items():
            field_name, _, lookup = target.partition("__")
            if field_name == "token" and "token" not in schema.by_field:
                where.append(self._token_condition(lookup or "eq"))
                values.append(_token_value(value))
                continue
            column = schema.column_for(field_name)
            operator = LOOKUPS.get(lookup or "eq")
            if operator is None or operator == "!=":
                raise InvalidQueryError(
                    f"unknown lookup {lookup!r} on {schema.model_name}.{field_name}; "
                    f"use one of {', '.join(k for k in LOOKUPS if k != 'ne')}"
                )
            where.append(Condition(column.name, operator))
            values.append(self._filter_value(column, operator, value))
        return replace(self, where=tuple(where), where_values=tuple(values))

    def _token_condition(self, lookup: str) -> Condition:
        operator = LOOKUPS.get(lookup)
        if operator not in ("=", "<", "<=", ">", ">="):
            raise InvalidQueryError(
                f"unknown token lookup {lookup!r}; use token__gt, token__gte, "
                "token__lt, token__lte or token"
            )
        names = tuple(column.name for column in self.model.table_schema().partition_key)
        return Condition("token", operator, token=names)

    def _filter_value(self, column: Any, operator: str, value: Any) -> Any:
        model = self.model
        if operator == "IN":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise InvalidQueryError(
                    f"{model.__name__}.{column.field_name}__in takes a list of values"
                )
            return [model.validate_filter_value(column, item) for item in value]
        if operator in ("CONTAINS", "CONTAINS KEY"):
            if not column.type.is_collection:
                raise InvalidQueryError(
                    f"{model.__name__}.{column.field_name} is not a collection; "
                    "contains needs a list, set or map field"
                )
            part = "key" if operator == "CONTAINS KEY" else "element"
            return model.validate_element_value(column, part, value)
        if operator == "LIKE":
            if not isinstance(value, str):
                raise InvalidQueryError(
                    f"{model.__name__}.{column.field_name}__like takes a str pattern"
                )
            return value
        return model.validate_filter_value(column, value)

    def with_options(self, **options: Any) -> QueryState:
        """Return a copy with options such as ``limit`` or ``consistency`` changed."""
        if "consistency" in options:
            options["consistency"] = consistency_level(options["consistency"])
        if "serial_consistency" in options:
            options["serial_consistency"] = consistency_level(
                options["serial_consistency"]
            )
        for name in ("limit", "per_partition_limit", "fetch_size"):
            value = options.get(name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise InvalidQueryError(f"{name} must be a whole number above 0")
        return replace(self, **options)

    def ordered(self, *fields: str) -> QueryState:
        """Order by clustering columns: ``"field"`` ascending, ``"-field"`` not."""
        schema = self.model.table_schema()
        order = []
        for spec in fields:
            descending = spec.startswith("-")
            column = schema.column_for(spec.lstrip("-+"))
            if column.clustering_key is None:
                clustering = ", ".join(c.field_name for c in schema.clustering_key)
                raise InvalidQueryError(
                    f"{schema.model_name} can only be ordered by its clustering "
                    f"columns ({clustering or 'it has none'}), not {column.field_name}"
                )
            order.append((column.name, "DESC" if descending else "ASC"))
        return replace(self, order_by=tuple(order))

    def projected(self, *fields: str) -> QueryState:
        """Select only ``fields`` (the primary key is always included)."""
        schema = self.model.table_schema()
        names = [schema.column_for(name).name for name in fields]
        for column in schema.primary_key:
            if column.name not in names:
                names.append(column.name)
        return replace(self, columns=tuple(names))

    def nearest(self, field_name: str, vector: list[float]) -> QueryState:
        """Order by similarity to ``vector`` (``ORDER BY ... ANN OF``)."""
        schema = self.model.table_schema()
        column = schema.column_for(field_name)
        if column.type.vector is None:
            raise InvalidQueryError(
                f"{schema.model_name}.{field_name} is not a Vector() field"
            )
        value = self.model.validate_filter_value(column, vector)
        return replace(self, ann_of=(column.name, value))

    # -- statements -------------------------------------------------------------

    def _options(self, statement: Statement) -> Statement:
        statement.consistency = self.consistency
        statement.serial_consistency = self.serial_consistency
        statement.timeout = self.timeout
        return statement

    def _default_columns(self, schema: TableSchema) -> tuple[str, ...]:
        if not self.distinct:
            return all_columns(schema)
        # DISTINCT may only read the partition key and static columns.
        return tuple(
            column.name
            for column in schema.columns
            if column.partition_key is not None or column.static
        )

    def select_statement(
        self,
        *,
        keyspace: str | None,
        fetch_size: int | None = None,
        json_rows: bool = False,
    ) -> Statement:
        """``SELECT`` of the matching rows (``SELECT JSON`` with ``json_rows``)."""
        schema = self.model.table_schema()
        values = list(self.where_values)
        if self.ann_of is not None:
            values.append(self.ann_of[1])
        if self.per_partition_limit is not None:
            values.append(self.per_partition_limit)
        if self.limit is not None:
            values.append(self.limit)
        elif self.ann_of is not None:
            raise InvalidQueryError(
                f"a similarity search on {schema.model_name} needs .limit(k) "
                "(at most 1000)"
            )
        cql = select_cql(
            schema,
            keyspace,
            self.where,
            columns=self.columns or self._default_columns(schema),
            distinct=self.distinct,
            json_rows=json_rows,
            order_by=self.order_by,
            ann_of=self.ann_of[0] if self.ann_of else None,
            limit=self.limit is not None,
            per_partition_limit=self.per_partition_limit is not None,
            allow_filtering=self.allow_filtering,
        )
        statement = Statement(cql, values, idempotent=True)
        statement.fetch_size = fetch_size or self.fetch_size
        return self._options(statement)

    def aggregate_statement(
        self, function: str, field_name: str | None, *, keyspace: str | None
    ) -> Statement:
        """``SELECT`` of ``COUNT``, ``MIN``, ``MAX``, ``SUM`` or ``AVG`` of matches."""
        schema = self.model.table_schema()
        column = schema.column_for(field_name).name if field_name else None
        cql = select_cql(
            schema,
            keyspace,
            self.where,
            selectors=(aggregate_selector(function, column),),
            allow_filtering=self.allow_filtering,
        )
        return self._options(Statement(cql, list(self.where_values), idempotent=True))

    def _full_key_where(self, action: str) -> None:
        schema = self.model.table_schema()
        restricted = {condition.column for condition in self.where}
        missing = [
            c.field_name for c in schema.partition_key if c.name not in restricted
        ]
        if missing:
            raise InvalidQueryError(
                f"{schema.model_name}.find(...).{action}() must name the partition "
                "key; "
                f"add {', '.join(missing)} to the filter"
            )

    def delete_statement(
        self, *, keyspace: str | None, if_exists: bool = False, **conditions: Any
    ) -> Statement:
        """``DELETE`` of the rows the filter names (by primary key or its prefix)."""
        check_writable(self.model, "be deleted")
        self._full_key_where("delete")
        schema = self.model.table_schema()
        parsed, condition_values = if_clause(self.model, conditions)
        cql = delete_cql(
            schema, keyspace, self.where, conditions=parsed, if_exists=if_exists
        )
        conditional = if_exists or bool(parsed)
        statement = Statement(
            cql,
            [*self.where_values, *condition_values],
            idempotent=not conditional,
            conditional=conditional,
        )
        return self._options(statement)

    def update_statement(
        self,
        changes: Mapping[str, Any],
        *,
        keyspace: str | None,
        ttl: int | None = None,
        if_exists: bool = False,
        if_conditions: Mapping[str, Any] | None = None,
    ) -> Statement:
        """``UPDATE`` of the rows the filter names."""
        check_writable(self.model, "be updated")
        self._full_key_where("update")
        schema = self.model.table_schema()
        assignments: tuple[Assignment, ...]
        assignments, values = update_assignments(self.model, changes)
        parsed, condition_values = if_clause(self.model, if_conditions or {})
        cql = update_cql(
            schema,
            keyspace,
            assignments,
            self.where,
            conditions=parsed,
            if_exists=if_exists,
            ttl=ttl is not None,
        )
        prefix = [ttl] if ttl is not None else []
        conditional = if_exists or bool(parsed)
        statement = Statement(
            cql,
            [*prefix, *values, *self.where_values, *condition_values],
            idempotent=not conditional and assignments_idempotent(assignments, schema),
            conditional=conditional,
            counter=schema.is_counter_table,
        )
        return self._options(statement)


def _token_value(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidQueryError(
            f"a token bound is an int (Murmur3 token), not {value!r}"
        )
    return value
