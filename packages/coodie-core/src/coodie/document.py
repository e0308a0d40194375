"""The IO-free half of a document: schema, validation, rows in and values out.

:mod:`coodie.sync` and :mod:`coodie.aio` each subclass :class:`DocumentBase` and
add the methods that talk to the database; everything that decides *what* to send
or how to read a row lives here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from typing_extensions import Self

from coodie.exceptions import ConfigurationError, InvalidQueryError, ReadOnlyModelError
from coodie.results import LWTResult, ResultPage
from coodie.schema import Column, TableSchema, build_schema, settings_value

__all__ = ["DocumentBase", "bind_value", "check_writable", "lwt_result"]

_Hydrator = tuple[
    type["DocumentBase"],
    tuple[tuple[str, Callable[[Any], Any] | None, Callable[[], Any] | None], ...],
]


DocumentT = TypeVar("DocumentT", bound="DocumentBase")


class DocumentBase(BaseModel):
    """Fields, keys and table settings shared by both front doors' ``Document``."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=False)

    __coodie_abstract__: ClassVar[bool] = True
    __coodie_read_only__: ClassVar[bool] = False
    __coodie_counters__: ClassVar[bool] = False

    class Settings:
        """Per-model settings: ``name``, ``keyspace``, ``driver``, ``default_ttl``,
        ``table_options``."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__coodie_abstract__ = bool(cls.__dict__.get("__coodie_abstract__", False))
        cls._coodie_schema = None  # type: ignore[attr-defined]
        cls._coodie_hydrators = {}  # type: ignore[attr-defined]
        cls._coodie_adapters = {}  # type: ignore[attr-defined]

    @classmethod
    def table_schema(cls) -> TableSchema:
        """The model's table schema, read once from the class.

        :raises ConfigurationError: the model cannot be stored as declared.
        """
        schema: TableSchema | None = cls.__dict__.get("_coodie_schema")
        if schema is None:
            if cls.__dict__.get("__coodie_abstract__", False):
                raise ConfigurationError(
                    f"{cls.__name__} is a base class; subclass it to declare a table"
                )
            schema = build_schema(cls)
            _check_counter_placement(cls, schema)
            cls._coodie_schema = schema  # type: ignore[attr-defined]
        return schema

    @model_validator(mode="after")
    def _normalize_stored_forms(self) -> Self:
        values = self.__dict__
        for column in type(self).table_schema().columns:
            normalize = column.type.normalize
            value = values.get(column.field_name)
            if normalize is not None and value is not None:
                values[column.field_name] = normalize(value)
        return self

    @classmethod
    def settings(cls, key: str, default: Any = None) -> Any:
        """Return ``Settings.<key>``, looking through the base classes."""
        return settings_value(cls, key, default)

    # -- rows into documents -----------------------------------------------------

    @classmethod
    def _hydrator(cls, columns: tuple[str, ...]) -> _Hydrator:
        cache: dict[tuple[str, ...], _Hydrator] = cls._coodie_hydrators  # type: ignore[attr-defined]
        hydrator = cache.get(columns)
        if hydrator is None:
            schema = cls.table_schema()
            plan: list[
                tuple[str, Callable[[Any], Any] | None, Callable[[], Any] | None]
            ] = []
            for name in columns:
                column = schema.by_name.get(name)
                if column is None:
                    plan.append((name, None, None))
                    continue
                empty = column.type.empty if not column.nullable else None
                plan.append((column.field_name, column.type.from_db, empty))
            hydrator = (cls, tuple(plan))
            cache[columns] = hydrator
        return hydrator

    @classmethod
    def from_rows(
        cls, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> list[Self]:
        """Turn rows the database returned into documents, without re-validating.

        Values are converted to the declared Python types (aware UTC datetimes,
        ``set`` for sets, an empty collection for a missing one when the field is
        not optional); a column the model does not declare is ignored.
        """
        model, plan = cls._hydrator(columns)
        fields = model.model_fields
        fields_set = set(fields) if len(plan) == len(fields) else None
        new = object.__new__
        documents = []
        for row in rows:
            values: dict[str, Any] = {}
            for (field_name, from_db, empty), value in zip(plan, row, strict=True):
                if value is None:
                    values[field_name] = empty() if empty is not None else None
                elif from_db is None:
                    values[field_name] = value
                else:
                    values[field_name] = from_db(value)
            document = new(model)
            object.__setattr__(document, "__dict__", values)
            object.__setattr__(
                document, "__pydantic_fields_set__", fields_set or set(values)
            )
            object.__setattr__(document, "__pydantic_extra__", None)
            object.__setattr__(document, "__pydantic_private__", None)
            documents.append(document)
        if len(plan) != len(fields):
            _fill_defaults(model, documents)
        return documents  # type: ignore[return-value]

    # -- documents into bind values ----------------------------------------------

    def key_values(self) -> list[Any]:
        """The primary key's values, converted for binding.

        :raises InvalidQueryError: a key part is ``None`` or empty.
        """
        schema = type(self).table_schema()
        return [
            bind_value(schema, column, self.__dict__.get(column.field_name), key=True)
            for column in schema.primary_key
        ]

    def _apply_changes(self, changes: Mapping[str, Any]) -> None:
        """Mirror an applied update on this document, so it shows the row's state."""
        values = self.__dict__
        schema = type(self).table_schema()
        for target, value in changes.items():
            field_name, _, operator = target.partition("__")
            column = schema.column_for(field_name)
            name = column.field_name
            current = values.get(name)
            if not operator:
                if column.type.normalize is not None and value is not None:
                    value = column.type.normalize(value)
                values[name] = value
            elif operator in ("incr", "decr"):
                sign = 1 if operator == "incr" else -1
                values[name] = (current or 0) + sign * value
            elif operator == "append":
                values[name] = [*(current or []), *value]
            elif operator == "prepend":
                values[name] = [*value, *(current or [])]
            elif operator == "add":
                values[name] = type(current or set())((current or set()) | set(value))
            elif operator == "put":
                values[name] = {**(current or {}), **value}
            elif operator == "remove":
                values[name] = _removed(current, value)

    @classmethod
    def validate_filter_value(cls, column: Column, value: Any) -> Any:
        """Validate a value compared with ``column`` and convert it for binding.

        :raises InvalidQueryError: the value does not fit the field's type.
        """
        adapters: dict[str, TypeAdapter[Any]] = cls._coodie_adapters  # type: ignore[attr-defined]
        adapter = adapters.get(column.field_name)
        if adapter is None:
            info = cls.model_fields[column.field_name]
            adapter = TypeAdapter(info.rebuild_annotation())
            adapters[column.field_name] = adapter
        try:
            value = adapter.validate_python(value)
        except ValidationError as error:
            message = error.errors()[0]["msg"]
            raise InvalidQueryError(
                f"{cls.__name__}.{column.field_name} is compared with {value!r}: "
                f"{message}; pass a {_type_name(column)}"
            ) from None
        if value is not None and column.type.normalize is not None:
            value = column.type.normalize(value)
        return bind_value(cls.table_schema(), column, value, key=column.is_primary_key)


def bind_value(
    schema: TableSchema, column: Column, value: Any, *, key: bool = False
) -> Any:
    """Convert one value for binding to ``column``.

    :raises InvalidQueryError: a key is empty, or the value does not fit the CQL
        type (out of range, not ASCII, ...); the message names model and field.
    """
    if value is None:
        if key:
            raise InvalidQueryError(
                f"{schema.model_name}.{column.field_name} is part of the primary key "
                "and cannot be None; give it a value"
            )
        return None
    if key and value == "" and column.partition_key is not None:
        raise InvalidQueryError(
            f"{schema.model_name}.{column.field_name} is part of the partition key "
            "and cannot be empty; give it a value"
        )
    to_db = column.type.to_db
    if to_db is None:
        return value
    try:
        return to_db(value)
    except (TypeError, ValueError, AttributeError) as error:
        raise InvalidQueryError(
            f"{schema.model_name}.{column.field_name}: {error}"
        ) from None


def _removed(current: Any, value: Any) -> Any:
    if current is None:
        return current
    if isinstance(current, dict):
        keys = (
            set(value) if isinstance(value, (list, set, frozenset, tuple)) else {value}
        )
        return {key: item for key, item in current.items() if key not in keys}
    removed = set(value)
    return type(current)(item for item in current if item not in removed)


def check_writable(model: type[DocumentBase], action: str) -> None:
    """Refuse a write through a read-only model such as a materialized view.

    :raises ReadOnlyModelError: the model is read-only.
    """
    if model.__coodie_read_only__:
        raise ReadOnlyModelError(
            f"{model.__name__} is a materialized view and cannot {action}; write to "
            "its base table instead"
        )


def _type_name(column: Column) -> str:
    python_type = column.type.python_type
    return getattr(python_type, "__name__", str(python_type))


def _fill_defaults(model: type[DocumentBase], documents: list[Any]) -> None:
    """Give fields a projection did not select their defaults, for a full document."""
    missing = [
        (name, info)
        for name, info in model.model_fields.items()
        if documents and name not in documents[0].__dict__
    ]
    for document in documents:
        for name, info in missing:
            if info.is_required():
                document.__dict__[name] = None
            else:
                document.__dict__[name] = info.get_default(call_default_factory=True)


def _check_counter_placement(model: type[DocumentBase], schema: TableSchema) -> None:
    if schema.is_counter_table and not model.__coodie_counters__:
        counters = ", ".join(c.field_name for c in schema.columns if c.type.is_counter)
        raise ConfigurationError(
            f"{model.__name__} declares counter columns ({counters}); counter tables "
            "derive from CounterDocument"
        )
    if model.__coodie_counters__ and not schema.is_counter_table:
        raise ConfigurationError(
            f"{model.__name__} is a CounterDocument without counters; mark at least "
            "one int field Annotated[int, Counter()]"
        )


def lwt_result(model: type[DocumentT], page: ResultPage) -> LWTResult[DocumentT]:
    """Read the ``[applied]`` row of a conditional write into an :class:`LWTResult`."""
    if not page.rows:
        return LWTResult(applied=True)
    row = page.rows[0]
    applied = bool(row[0])
    if applied or len(page.columns) < 2:
        return LWTResult(applied=applied)
    (existing,) = model.from_rows(page.columns[1:], [row[1:]])
    return LWTResult(applied=False, existing=existing)
