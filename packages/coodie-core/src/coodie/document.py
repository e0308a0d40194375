"""The IO-free half of a document: schema, validation, rows in and values out.

:mod:`coodie.sync` and :mod:`coodie.aio` each subclass :class:`DocumentBase` and
add the methods that talk to the database; everything that decides *what* to send
or how to read a row lives here, once.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
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
from coodie.fields import (
    ClusteringKey,
    Counter,
    CqlType,
    Discriminator,
    Frozen,
    Indexed,
    PrimaryKey,
    Static,
)
from coodie.results import LWTResult, ResultPage
from coodie.schema import (
    Column,
    TableSchema,
    build_schema,
    discriminator_value,
    polymorphic_root,
    settings_value,
)
from coodie.types import column_type

__all__ = ["DocumentBase", "bind_value", "check_writable", "lwt_result", "model_hook"]


DocumentT = TypeVar("DocumentT", bound="DocumentBase")


class DocumentBase(BaseModel):
    """Fields, keys and table settings shared by both front doors' ``Document``."""

    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=False,
        validate_assignment=True,
    )

    __coodie_abstract__: ClassVar[bool] = True
    __coodie_read_only__: ClassVar[bool] = False
    __coodie_counters__: ClassVar[bool] = False

    # What coodie knows of the stored row lives in the private state under
    # "_coodie_loaded": absent or None until the database holds the document, then
    # the names of the fields assigned since it was last read or written. It is not
    # declared as a private attribute, which would cost every construction.

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
        cls._coodie_normalizers = None  # type: ignore[attr-defined]
        root = polymorphic_root(cls)
        if root is not None:
            if root is cls:
                cls._coodie_subclasses = {}  # type: ignore[attr-defined]
            registry: dict[str, type[DocumentBase]] = root._coodie_subclasses  # type: ignore[attr-defined]
            value = discriminator_value(cls)
            if value in registry and registry[value].__qualname__ != cls.__qualname__:
                raise ConfigurationError(
                    f"{cls.__name__} and {registry[value].__name__} share the "
                    f"discriminator value {value!r}; give one of them "
                    "Settings.discriminator = '<another value>'"
                )
            registry[value] = cls

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

    @classmethod
    def storage_schema(cls) -> TableSchema:
        """The table as stored: for a class hierarchy, every class's columns.

        :raises ConfigurationError: two classes of a hierarchy give one column two
            different types.
        """
        schema = cls.table_schema()
        root = schema.root
        if root is None:
            return schema
        root_schema: TableSchema = root.table_schema()  # type: ignore[attr-defined]
        by_name = dict(root_schema.by_name)
        columns = list(root_schema.columns)
        user_types = list(root_schema.user_types)
        for klass in root._coodie_subclasses.values():  # type: ignore[attr-defined]
            for column in klass.table_schema().columns:
                known = by_name.get(column.name)
                if known is None:
                    by_name[column.name] = column
                    columns.append(column)
                elif known.type.cql != column.type.cql:
                    raise ConfigurationError(
                        f"{klass.__name__}.{column.field_name} is {column.type.cql} "
                        f"but {root.__name__}'s table already has {column.name} as "
                        f"{known.type.cql}; rename one of the fields"
                    )
            user_types.extend(
                t for t in klass.table_schema().user_types if t not in user_types
            )
        return replace(
            root_schema,
            columns=tuple(columns),
            by_name=by_name,
            by_field={column.field_name: column for column in columns},
            user_types=tuple(user_types),
        )

    @classmethod
    def hierarchy_values(cls) -> tuple[str, ...]:
        """The discriminator values of this class and the classes under it."""
        root = cls.table_schema().root
        if root is None:
            return ()
        registry: dict[str, type] = root._coodie_subclasses  # type: ignore[attr-defined]
        return tuple(
            value for value, klass in registry.items() if issubclass(klass, cls)
        )

    @model_validator(mode="after")
    def _normalize_stored_forms(self) -> Self:
        values = self.__dict__
        normalizers = type(self).__dict__.get("_coodie_normalizers")
        if normalizers is None:
            normalizers = type(self)._build_normalizers()
        discriminator, per_field = normalizers
        if discriminator is not None:
            values[discriminator[0]] = discriminator[1]
        for field_name, normalize in per_field:
            value = values.get(field_name)
            if value is not None:
                values[field_name] = normalize(value)
        return self

    @classmethod
    def _build_normalizers(cls) -> tuple[Any, tuple[tuple[str, Any], ...]]:
        schema = cls.table_schema()
        discriminator = (
            (schema.discriminator.field_name, schema.discriminator_value)
            if schema.discriminator is not None
            else None
        )
        per_field = tuple(
            (column.field_name, column.type.normalize)
            for column in schema.columns
            if column.type.normalize is not None
        )
        cls._coodie_normalizers = (discriminator, per_field)  # type: ignore[attr-defined]
        return cls._coodie_normalizers  # type: ignore[attr-defined,no-any-return]

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
            hydrator = _Hydrator(cls, columns)
            cache[columns] = hydrator
        return hydrator

    @classmethod
    def from_rows(
        cls, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
    ) -> list[Self]:
        """Turn rows the database returned into documents, without re-validating.

        Values are converted to the declared Python types (aware UTC datetimes,
        ``set`` for sets, an empty collection for a missing one when the field is
        not optional); a column the model does not declare is ignored, and a field
        the rows do not hold gets its default.
        """
        documents = cls._hydrator(columns).documents(rows)
        return documents  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        """Documents are equal when they are of one class and hold equal values.

        What coodie remembers of the stored row does not take part.
        """
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
            and _user_private(self) == _user_private(other)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- what changed since the database last saw the document ------------------

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        private = self.__pydantic_private__
        assigned = private.get("_coodie_loaded") if private else None
        if assigned is not None and name not in assigned:
            object.__setattr__(
                self,
                "__pydantic_private__",
                {**private, "_coodie_loaded": assigned | {name}},  # type: ignore[dict-item]
            )

    def changed_fields(self) -> frozenset[str] | None:
        """Fields that may differ from the stored row; ``None`` if never stored.

        Fields assigned since the document was read or written count, and so do
        collection and user-type fields, which can change in place unseen.
        """
        private = self.__pydantic_private__
        assigned: frozenset[str] | None = (
            private.get("_coodie_loaded") if private else None
        )
        if assigned is None:
            return None
        # A document read with only() holds defaults for the fields it did not
        # read: only collections it did read can have changed in place.
        mutable = type(self).table_schema().mutable_fields
        return assigned | (mutable & self.__pydantic_fields_set__)

    def mark_stored(self) -> None:
        """Remember that the database now holds this document as it is."""
        private = self.__pydantic_private__
        if private and any(key != "_coodie_loaded" for key in private):
            # Keep the model's own private attributes.
            stored = {**private, "_coodie_loaded": frozenset()}
        else:
            stored = _STORED
        object.__setattr__(self, "__pydantic_private__", stored)

    def mark_unstored(self) -> None:
        """Forget the stored row (after a delete): the next save writes it whole."""
        private = dict(self.__pydantic_private__ or {})
        private["_coodie_loaded"] = None
        object.__setattr__(self, "__pydantic_private__", private)

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
            elif operator == "set_at" and current is not None:
                position, element = value
                updated = list(current)
                updated[position] = element
                values[name] = updated

    @classmethod
    def validate_element_value(cls, column: Column, part: str, value: Any) -> Any:
        """Validate one element (or map key) of a collection field for binding.

        :raises InvalidQueryError: the value does not fit the element type.
        """
        adapters: dict[str, Any] = cls._coodie_adapters  # type: ignore[attr-defined]
        cache_key = f"{column.field_name}[{part}]"
        cached = adapters.get(cache_key)
        if cached is None:
            try:
                annotation = _element_annotation(column, part)
            except InvalidQueryError as error:
                raise InvalidQueryError(f"{cls.__name__}.{error}") from None
            cached = (TypeAdapter(annotation), column_type(annotation, nested=True))
            adapters[cache_key] = cached
        adapter, element_type = cached
        try:
            value = adapter.validate_python(value)
            if element_type.normalize is not None:
                value = element_type.normalize(value)
            return value if element_type.to_db is None else element_type.to_db(value)
        except (ValidationError, ValueError, TypeError) as error:
            message = (
                error.errors()[0]["msg"]
                if isinstance(error, ValidationError)
                else str(error)
            )
            raise InvalidQueryError(
                f"{cls.__name__}.{column.field_name} holds no {part} like "
                f"{value!r}: {message}"
            ) from None

    @classmethod
    def validate_filter_value(cls, column: Column, value: Any) -> Any:
        """Validate a value compared with ``column`` and convert it for binding.

        :raises InvalidQueryError: the value does not fit the field's type.
        """
        adapters: dict[str, Any] = cls._coodie_adapters  # type: ignore[attr-defined]
        cached = adapters.get(column.field_name)
        if cached is None:
            info = cls.model_fields[column.field_name]
            # A field whose metadata holds only coodie's markers has no extra
            # constraints (lengths, ranges) for pydantic to check.
            plain = all(isinstance(marker, _MARKERS) for marker in info.metadata)
            cached = (TypeAdapter(info.rebuild_annotation()), plain)
            adapters[column.field_name] = cached
        adapter, plain = cached
        column_type = column.type
        if (
            plain
            and type(value) is column_type.python_type
            and column_type.normalize is None
        ):
            # Already the declared type, with nothing to check or normalise.
            return bind_value(
                cls.table_schema(), column, value, key=column.is_primary_key
            )
        try:
            value = adapter.validate_python(value)
            if value is not None and column.type.normalize is not None:
                value = column.type.normalize(value)
        except (ValidationError, ValueError) as error:
            message = (
                error.errors()[0]["msg"]
                if isinstance(error, ValidationError)
                else str(error)
            )
            raise InvalidQueryError(
                f"{cls.__name__}.{column.field_name} is compared with {value!r}: "
                f"{message}; pass a {_type_name(column)}"
            ) from None
        return bind_value(cls.table_schema(), column, value, key=column.is_primary_key)


def _missing_value(
    model: type[DocumentBase], column: Column
) -> Callable[[], Any] | None:
    """What a field holds when its column has no value, if not ``None``.

    Cassandra stores an empty collection as no value, so a collection field that
    is not optional reads back empty; a field that is not optional and has a
    default (a column added after the row was written) reads back its default.
    """
    if column.nullable:
        return None
    if column.type.empty is not None:
        return column.type.empty
    info = model.model_fields[column.field_name]
    if info.is_required():
        return None
    return partial(info.get_default, call_default_factory=True)


_MARKERS = (
    PrimaryKey,
    ClusteringKey,
    Indexed,
    Counter,
    Frozen,
    Static,
    Discriminator,
    CqlType,
)


def _element_annotation(column: Column, part: str) -> Any:
    """The type of a collection's elements (``part="element"``) or map keys."""
    annotation = column.type.python_type
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) in (dict, Mapping):
        return arguments[0] if part == "key" else arguments[1]
    if part == "key":
        raise InvalidQueryError(
            f"{column.field_name} is not a map; contains_key needs a dict field"
        )
    return arguments[0]


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


_STORED: dict[str, Any] = {"_coodie_loaded": frozenset()}


def stored_private(model: type[BaseModel]) -> dict[str, Any]:
    """The private state of a document the database holds as it is.

    Shared between documents when the model has no private attributes of its own;
    coodie only ever replaces it, never changes it in place.
    """
    if not model.__private_attributes__:
        return _STORED
    others = {
        name: attribute.get_default()
        for name, attribute in model.__private_attributes__.items()
    }
    return {**others, **_STORED}


def _user_private(document: BaseModel) -> dict[str, Any]:
    private = document.__pydantic_private__ or {}
    return {key: value for key, value in private.items() if key != "_coodie_loaded"}


def model_hook(model: type, name: str) -> Callable[..., Any] | None:
    """The model's ``before_save`` / ``after_save`` / ... hook, or ``None``.

    Looked up once per class: asking a pydantic model (or its class) for an
    attribute it lacks is slow, and most models declare no hooks.
    """
    hooks: dict[str, Any] | None = model.__dict__.get("_coodie_hooks")
    if hooks is None:
        hooks = {}
        type.__setattr__(model, "_coodie_hooks", hooks)
    if name not in hooks:
        hooks[name] = getattr(model, name, None)
    return hooks[name]  # type: ignore[no-any-return]


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


class _Hydrator:
    """Turns rows of one column layout into documents of one model.

    Everything that depends only on the layout (which columns the model declares,
    which need converting, which fields are missing) is worked out once, and
    written out as the source of one function that builds documents from rows:
    per row it unpacks the tuple, converts what needs converting and fills the
    document's slots, with no loop over columns and no lookups by name.
    """

    def __init__(self, model: type[DocumentBase], columns: tuple[str, ...]) -> None:
        schema = model.table_schema()
        self.model = model
        self.columns = columns
        self.dispatch: tuple[int, dict[str, type[DocumentBase]]] | None = None
        if schema.discriminator is not None and schema.discriminator.name in columns:
            registry = schema.root._coodie_subclasses  # type: ignore[union-attr]
            self.dispatch = (columns.index(schema.discriminator.name), registry)
        self.is_root = schema.root is model
        self.documents_of: Callable[[Sequence[Sequence[Any]]], list[DocumentBase]]
        self.documents_of = _compile_hydrator(model, schema, columns)

    def documents(self, rows: Sequence[Sequence[Any]]) -> list[DocumentBase]:
        if self.dispatch is None:
            return self.documents_of(rows)
        # One table holds a class hierarchy: each row goes to its own class.
        position, registry = self.dispatch
        documents: list[DocumentBase] = []
        for row in rows:
            klass = registry.get(row[position])
            if klass is None and self.is_root:
                klass = self.model
            if klass is None or not issubclass(klass, self.model):
                # A row of another branch of the hierarchy: not of this class.
                continue
            hydrator = self if klass is self.model else klass._hydrator(self.columns)
            documents.extend(hydrator.documents_of((row,)))
        return documents


def _compile_hydrator(
    model: type[DocumentBase], schema: TableSchema, columns: tuple[str, ...]
) -> Callable[[Sequence[Sequence[Any]]], list[DocumentBase]]:
    """Write and compile the function that turns rows of ``columns`` into documents.

    Only positions and field names (Python identifiers) go into the source; every
    converter and default is passed in by name through the function's globals.
    """
    namespace: dict[str, Any] = {
        "model": model,
        "new": object.__new__,
        "set_attribute": object.__setattr__,
        # The slots of pydantic's BaseModel, set through their descriptors.
        "set_fields_set": vars(BaseModel)["__pydantic_fields_set__"].__set__,
        "set_extra": vars(BaseModel)["__pydantic_extra__"].__set__,
        "set_private": vars(BaseModel)["__pydantic_private__"].__set__,
        "stored_private": stored_private,
        "private": stored_private(model),
    }
    unpacked: list[str] = []
    entries: list[str] = []
    read: set[str] = set()
    for position, name in enumerate(columns):
        column = schema.by_name.get(name)
        if column is None:
            unpacked.append("_")  # a column the model does not declare
            continue
        variable = f"column_{position}"
        unpacked.append(variable)
        read.add(column.field_name)
        expression = variable
        if column.type.from_db is not None:
            namespace[f"convert_{position}"] = column.type.from_db
            expression = f"convert_{position}({variable})"
        empty = _missing_value(model, column)
        if empty is not None:
            namespace[f"empty_{position}"] = empty
            otherwise = f"empty_{position}()"
        else:
            otherwise = "None"
        if expression != variable or otherwise != "None":
            expression = f"{otherwise} if {variable} is None else {expression}"
        entries.append(f"{column.field_name!r}: {expression}")
    if not unpacked:
        unpacked.append("()")  # rows of no columns: empty tuples
    for name, info in model.model_fields.items():
        if name in read:
            continue
        if info.is_required():
            entries.append(f"{name!r}: None")
        else:
            namespace[f"default_{name}"] = partial(
                info.get_default, call_default_factory=True
            )
            entries.append(f"{name!r}: default_{name}()")
    namespace["fields_set"] = read
    # Every document that holds all fields can share one fields-set: pydantic
    # only ever adds field names to it, and all of them are in it already.
    all_read = len(read) == len(model.model_fields)
    fields_set = "fields_set" if all_read else "set(fields_set)"
    private = "private" if namespace["private"] is _STORED else "stored_private(model)"
    target = ", ".join(unpacked) + ("," if len(unpacked) == 1 else "")
    values = ", ".join(entries)
    source = f"""\
def documents_of(rows):
    documents = []
    append = documents.append
    for {target} in rows:
        document = new(model)
        set_attribute(document, "__dict__", {{{values}}})
        set_fields_set(document, {fields_set})
        set_extra(document, None)
        set_private(document, {private})
        append(document)
    return documents
"""
    code = compile(source, f"<coodie rows of {model.__name__}>", "exec")
    exec(code, namespace)
    return namespace["documents_of"]  # type: ignore[no-any-return]


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


def lwt_result(
    model: type[DocumentT], page: ResultPage, document: DocumentBase | None = None
) -> LWTResult[DocumentT]:
    """Read the ``[applied]`` row of a conditional write into an :class:`LWTResult`.

    When a condition fails, the server returns the columns it checked; the key
    of ``document`` (the row that was tested) completes the existing document.
    """
    if not page.rows:
        return LWTResult(applied=True)
    row = page.rows[0]
    applied = bool(row[0])
    if applied or len(page.columns) < 2:
        return LWTResult(applied=applied)
    (existing,) = model.from_rows(page.columns[1:], [row[1:]])
    if document is not None:
        returned = set(page.columns)
        for column in model.table_schema().primary_key:
            if column.name not in returned:
                existing.__dict__[column.field_name] = document.__dict__.get(
                    column.field_name
                )
    return LWTResult(applied=False, existing=existing)
