"""Random models and random intents: valid, fully quoted CQL, or a coodie error."""

import datetime as dt
import enum
import ipaddress
import keyword
import re
import typing
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from coodie.document import DocumentBase
from coodie.exceptions import CoodieError
from coodie.fields import (
    BigInt,
    ClusteringKey,
    Counter,
    Float,
    PrimaryKey,
    SmallInt,
    TimeUUID,
    TinyInt,
    VarInt,
    Vector,
)
from coodie.query import QueryState
from coodie.schema import TableSchema
from coodie.statements import (
    Statement,
    delete_document_statement,
    insert_statement,
    update_document_statement,
)
from coodie.types import UserType

UTC = dt.timezone.utc

CQL_WORDS = frozenset(
    {
        "ALLOW",
        "AND",
        "ANN",
        "ASC",
        "BY",
        "CONTAINS",
        "COUNT",
        "DELETE",
        "DESC",
        "DISTINCT",
        "EXISTS",
        "FILTERING",
        "FROM",
        "IF",
        "IN",
        "INSERT",
        "INTO",
        "KEY",
        "LIKE",
        "LIMIT",
        "NOT",
        "OF",
        "ORDER",
        "PARTITION",
        "PER",
        "SELECT",
        "SET",
        "TIMESTAMP",
        "TTL",
        "UPDATE",
        "USING",
        "VALUES",
        "WHERE",
        "token",
    }
)
CQL_PUNCTUATION = frozenset(" ,.()?=<>!*+-[]")
LOOKUPS = ["", "eq", "lt", "lte", "gt", "gte", "in", "contains", "contains_key"]
ODD_LOOKUPS = ["like", "ne", "near", "token"]
UPDATE_OPERATORS = ["", "append", "prepend", "add", "remove", "put", "incr", "decr"]


class Colour(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(UserType):
    x: float
    y: float


@dataclass(frozen=True)
class FieldKind:
    """A field type the generator may pick, with values that fit it."""

    annotation: Any
    values: st.SearchStrategy[Any]
    scalar: bool = True


FINITE = st.floats(allow_nan=False, allow_infinity=False)
KINDS = [
    FieldKind(str, st.text(max_size=8)),
    FieldKind(int, st.integers(-(2**31), 2**31 - 1)),
    FieldKind(Annotated[int, BigInt()], st.integers(-(2**63), 2**63 - 1)),
    FieldKind(Annotated[int, SmallInt()], st.integers(-(2**15), 2**15 - 1)),
    FieldKind(Annotated[int, TinyInt()], st.integers(-128, 127)),
    FieldKind(Annotated[int, VarInt()], st.integers()),
    FieldKind(float, FINITE),
    FieldKind(Annotated[float, Float()], st.floats(width=32, allow_nan=False)),
    FieldKind(bool, st.booleans()),
    FieldKind(bytes, st.binary(max_size=8)),
    FieldKind(Decimal, st.decimals(allow_nan=False, allow_infinity=False, places=3)),
    FieldKind(uuid.UUID, st.uuids()),
    FieldKind(Annotated[uuid.UUID, TimeUUID()], st.uuids(version=1)),
    FieldKind(dt.datetime, st.datetimes(timezones=st.sampled_from([None, UTC]))),
    FieldKind(dt.date, st.dates()),
    FieldKind(dt.time, st.times()),
    FieldKind(dt.timedelta, st.timedeltas(min_value=dt.timedelta(0))),
    FieldKind(ipaddress.IPv4Address, st.ip_addresses(v=4)),
    FieldKind(Colour, st.sampled_from(Colour)),
    FieldKind(str | None, st.none() | st.text(max_size=4)),
    FieldKind(list[int], st.lists(st.integers(0, 9), max_size=3), scalar=False),
    FieldKind(set[str], st.sets(st.text(max_size=3), max_size=3), scalar=False),
    FieldKind(
        frozenset[int], st.frozensets(st.integers(0, 9), max_size=3), scalar=False
    ),
    FieldKind(
        dict[str, int],
        st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=3),
        scalar=False,
    ),
    FieldKind(tuple[int, str], st.tuples(st.integers(0, 9), st.text(max_size=3))),
    FieldKind(
        list[list[int]],
        st.lists(st.lists(st.integers(0, 9), max_size=2), max_size=2),
        scalar=False,
    ),
    FieldKind(
        Annotated[list[float], Vector(3)],
        st.lists(FINITE.map(lambda x: x % 1000), min_size=3, max_size=3),
        scalar=False,
    ),
    FieldKind(Point, st.builds(Point, x=FINITE, y=FINITE)),
]
KEY_KINDS = [kind for kind in KINDS if kind.scalar and kind.annotation is not Point]
COUNTER = FieldKind(Annotated[int, Counter()], st.integers(0, 9))
RARELY = st.sampled_from([False] * 19 + [True])
ROLES = ["partition", "clustering", "regular", "regular", "regular"]
MAPS = [kind.annotation for kind in KINDS if typing.get_origin(kind.annotation) is dict]
MAP_KEYS = st.lists(st.text(max_size=3), max_size=2) | st.text(max_size=3)
JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    FINITE,
    st.binary(max_size=4),
    st.lists(st.integers() | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.lists(st.integers(), max_size=2), max_size=2),
)


def _usable(name: str) -> bool:
    return not (
        keyword.iskeyword(name)
        or name.startswith("model_")
        or hasattr(DocumentBase, name)
    )


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(_usable)
KEYSPACES = st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@dataclass
class RandomModel:
    model: type[DocumentBase]
    kinds: dict[str, FieldKind]
    partition_key: list[str]
    regular: list[str]


@st.composite
def random_models(draw: st.DrawFn) -> RandomModel:
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    counter_table = draw(st.sampled_from([False] * 9 + [True]))
    any_kind = st.sampled_from(KINDS)
    # Mostly what a valid model would use; sometimes anything, to reach the errors.
    key_kinds = st.one_of(*[st.sampled_from(KEY_KINDS)] * 4, any_kind)
    regular_kinds = st.just(COUNTER) if counter_table else any_kind
    kinds: dict[str, FieldKind] = {}
    annotations: dict[str, Any] = {"__coodie_counters__": ClassVar[bool]}
    partition_key: list[str] = []
    clustering_key: list[str] = []
    regular: list[str] = []
    for position, name in enumerate(names):
        role = "partition" if position == 0 else draw(st.sampled_from(ROLES))
        kind = draw(regular_kinds if role == "regular" else key_kinds)
        annotation = kind.annotation
        if role == "partition":
            annotation = Annotated[annotation, PrimaryKey(len(partition_key))]
            partition_key.append(name)
        elif role == "clustering":
            descending = draw(st.booleans())
            marker = ClusteringKey("DESC" if descending else "ASC", len(clustering_key))
            annotation = Annotated[annotation, marker]
            clustering_key.append(name)
        else:
            regular.append(name)
        kinds[name] = kind
        annotations[name] = annotation

    model_name = "Random" + draw(st.from_regex(r"[A-Z][a-z]{0,6}", fullmatch=True))
    settings_class = type(
        "Settings",
        (),
        {
            "__module__": __name__,
            "__qualname__": f"{model_name}.Settings",
            "name": draw(NAMES),
            "keyspace": draw(KEYSPACES),
        },
    )
    namespace = {
        "__module__": __name__,
        "__qualname__": model_name,
        "__annotations__": annotations,
        "__coodie_counters__": counter_table != draw(RARELY),
        "Settings": settings_class,
    }
    model = type(model_name, (DocumentBase,), namespace)
    return RandomModel(model, kinds, partition_key, regular)


def _filter_values(kind: FieldKind | None, lookup: str) -> st.SearchStrategy[Any]:
    valid = kind.values if kind is not None else JUNK
    if lookup == "in":
        valid = st.lists(valid, max_size=3)
    return st.one_of(valid, JUNK)


def _assert_well_formed(
    statement: Statement, schema: TableSchema, keyspace: str | None
) -> None:
    cql = statement.cql
    identifiers = set(re.findall(r'"([^"]*)"', cql))
    known = {column.name for column in schema.columns} | {schema.table}
    known |= {name for name in (keyspace, schema.keyspace) if name}
    assert identifiers <= known, cql

    unquoted = re.sub(r'"[^"]*"', " ", cql)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", unquoted))
    assert words <= CQL_WORDS, cql
    symbols = set(re.sub(r"[A-Za-z_][A-Za-z0-9_]*", " ", unquoted))
    assert symbols <= CQL_PUNCTUATION, cql

    assert cql.count("?") == len(statement.values), cql


PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@PROPERTY_SETTINGS
@given(random_models(), st.data())
def test_random_filters_give_quoted_cql_or_a_coodie_error(
    random_model: RandomModel, data: st.DataObject
) -> None:
    model, kinds = random_model.model, random_model.kinds
    keyspace = data.draw(KEYSPACES)
    known = st.sampled_from(list(kinds))
    targets = st.one_of(known, known, known, NAMES, st.just("token"))
    lookups: dict[str, Any] = {}
    if data.draw(st.booleans()):
        for name in random_model.partition_key:
            lookups[name] = data.draw(kinds[name].values)
    for _ in range(data.draw(st.integers(0, 3))):
        name = data.draw(targets)
        kind = kinds.get(name)
        lookup = data.draw(st.sampled_from(LOOKUPS) | st.sampled_from(ODD_LOOKUPS))
        target = f"{name}__{lookup}" if lookup else name
        lookups[target] = data.draw(_filter_values(kind, lookup))

    try:
        schema = model.table_schema()
        state = QueryState(model).filter(**lookups)
        if data.draw(st.booleans()):
            state = state.with_options(limit=data.draw(st.integers(1, 100)))
        if data.draw(st.booleans()):
            state = state.ordered(*data.draw(st.lists(targets, max_size=2)))
        if data.draw(st.booleans()):
            state = state.projected(*data.draw(st.lists(targets, max_size=2)))

        _assert_well_formed(state.select_statement(keyspace=keyspace), schema, keyspace)
        count = state.aggregate_statement("count", None, keyspace=keyspace)
        _assert_well_formed(count, schema, keyspace)
        event("select and count built")
        _assert_well_formed(state.delete_statement(keyspace=keyspace), schema, keyspace)
        event("delete built")
    except CoodieError as error:
        event(f"query refused: {type(error).__name__}")


@PROPERTY_SETTINGS
@given(random_models(), st.data())
def test_random_writes_give_quoted_cql_or_a_coodie_error(
    random_model: RandomModel, data: st.DataObject
) -> None:
    model, kinds = random_model.model, random_model.kinds
    keyspace = data.draw(KEYSPACES)
    try:
        schema = model.table_schema()
    except CoodieError as error:
        event(f"model refused: {type(error).__name__}")
        return
    document = model(**{name: data.draw(kind.values) for name, kind in kinds.items()})

    try:
        statement = insert_statement(
            document,
            keyspace=keyspace,
            if_not_exists=data.draw(st.booleans()),
            ttl=data.draw(st.none() | st.integers(0, 10**6)),
        )
        _assert_well_formed(statement, schema, keyspace)
        event("insert built")
    except CoodieError as error:
        event(f"insert refused: {type(error).__name__}")

    changes: dict[str, Any] = {}
    regular = st.sampled_from(random_model.regular or list(kinds))
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.one_of(regular, regular, regular, NAMES))
        kind = kinds.get(name)
        operator = data.draw(st.just("") | st.sampled_from(UPDATE_OPERATORS))
        target = f"{name}__{operator}" if operator else name
        valid = kind.values if kind else JUNK
        operand = st.one_of(valid, valid, valid, JUNK)
        if operator == "remove" and kind is not None and kind.annotation in MAPS:
            operand = st.one_of(MAP_KEYS, MAP_KEYS, JUNK)
        changes[target] = data.draw(operand)
    conditions: dict[str, Any] = {}
    if data.draw(st.booleans()):
        name = data.draw(regular)
        conditions[name] = data.draw(kinds[name].values | JUNK)
    try:
        statement = update_document_statement(
            document,
            changes,
            keyspace=keyspace,
            if_conditions=conditions,
            timestamp=data.draw(st.none() | st.integers(0, 2**40)),
        )
        _assert_well_formed(statement, schema, keyspace)
        event("update built")
    except CoodieError as error:
        event(f"update refused: {type(error).__name__}")

    try:
        statement = delete_document_statement(
            document, keyspace=keyspace, if_exists=data.draw(st.booleans())
        )
        _assert_well_formed(statement, schema, keyspace)
        event("delete built")
    except CoodieError as error:
        event(f"delete refused: {type(error).__name__}")


@PROPERTY_SETTINGS
@given(random_models(), st.data())
def test_rows_of_any_column_layout_become_the_documents_they_hold(
    random_model: RandomModel, data: st.DataObject
) -> None:
    model, kinds = random_model.model, random_model.kinds
    try:
        model.table_schema()
    except CoodieError as error:
        event(f"model refused: {type(error).__name__}")
        return
    stored = [
        model(**{name: data.draw(kind.values) for name, kind in kinds.items()})
        for _ in range(data.draw(st.integers(1, 3)))
    ]
    # Some of the model's columns in any order (a projection), perhaps with a
    # column the model does not declare, as a query may return them.
    read = data.draw(st.permutations(list(kinds)))[
        : data.draw(st.integers(1, len(kinds)))
    ]
    columns = list(read)
    if data.draw(st.booleans()):
        columns.insert(data.draw(st.integers(0, len(columns))), "undeclared_column")
    by_name = model.table_schema().by_name

    def returned(document: DocumentBase, name: str) -> Any:
        # What the driver hands back for a value written: the bound form, no
        # value for an empty collection, a naive datetime for a timestamp.
        column = by_name.get(name)
        if column is None:
            return "left alone"
        value = document.__dict__[column.field_name]
        if value is None or (column.type.empty is not None and not value):
            return None
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None)
        to_db = column.type.to_db
        return value if to_db is None else to_db(value)

    rows = [tuple(returned(document, name) for name in columns) for document in stored]

    documents = model.from_rows(tuple(columns), rows)

    assert [type(document) for document in documents] == [model] * len(stored)
    for document, original in zip(documents, stored, strict=True):
        assert {name: document.__dict__[name] for name in read} == {
            name: original.__dict__[name] for name in read
        }
        assert set(document.__dict__) == set(model.model_fields)
        expected_set = set(read) if len(read) < len(kinds) else set(model.model_fields)
        assert document.model_fields_set == expected_set
        assert not hasattr(document, "undeclared_column")
