"""The Python-to-CQL type map and the value converters of each type."""

import datetime as dt
import enum
import ipaddress
import re
import struct
import types
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

import pytest

from coodie.fields import (
    Ascii,
    BigInt,
    Counter,
    CqlType,
    Double,
    Duration,
    Float,
    Frozen,
    SmallInt,
    Time,
    TimeUUID,
    TinyInt,
    VarInt,
    Vector,
)
from coodie.types import UserType, column_type, user_type_name

UTC = dt.timezone.utc


class Colour(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    NAME = "name"
    NUMBER = 3


class Address(UserType):
    street: str
    zips: list[int] = []
    moved_at: dt.datetime | None = None


class Person(UserType):
    home: Address

    class Settings:
        name = "person_t"


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


@pytest.mark.parametrize(
    ("annotation", "markers", "cql"),
    [
        (str, (), "text"),
        (str, (Ascii(),), "ascii"),
        (str, (CqlType("varchar"),), "varchar"),
        (int, (), "int"),
        (int, (BigInt(),), "bigint"),
        (int, (SmallInt(),), "smallint"),
        (int, (TinyInt(),), "tinyint"),
        (int, (VarInt(),), "varint"),
        (int, (Counter(),), "counter"),
        (float, (), "double"),
        (float, (Double(),), "double"),
        (float, (Float(),), "float"),
        (bool, (), "boolean"),
        (bytes, (), "blob"),
        (Decimal, (), "decimal"),
        (uuid.UUID, (), "uuid"),
        (uuid.UUID, (TimeUUID(),), "timeuuid"),
        (dt.datetime, (), "timestamp"),
        (dt.date, (), "date"),
        (dt.time, (), "time"),
        (dt.time, (Time(),), "time"),
        (dt.timedelta, (), "duration"),
        (dt.timedelta, (Duration(),), "duration"),
        (ipaddress.IPv4Address, (), "inet"),
        (ipaddress.IPv6Address, (), "inet"),
        (Colour, (), "text"),
        (Level, (), "int"),
    ],
)
def test_scalar_types_map_to_their_cql_type(
    annotation: Any, markers: tuple[Any, ...], cql: str
) -> None:
    assert column_type(annotation, markers).cql == cql


@pytest.mark.parametrize(
    ("annotation", "cql"),
    [
        (list[int], "list<int>"),
        (Sequence[str], "list<text>"),
        (set[str], "set<text>"),
        (frozenset[uuid.UUID], "set<uuid>"),
        (dict[str, int], "map<text, int>"),
        (Mapping[str, float], "map<text, double>"),
        (tuple[int, str], "frozen<tuple<int, text>>"),
        (list[list[int]], "list<frozen<list<int>>>"),
        (dict[str, set[uuid.UUID]], "map<text, frozen<set<uuid>>>"),
        (set[tuple[int, int]], "set<frozen<tuple<int, int>>>"),
        (tuple[int, list[str]], "frozen<tuple<int, frozen<list<text>>>>"),
        (dict[dt.date, dict[str, bool]], "map<date, frozen<map<text, boolean>>>"),
        (Annotated[list[int], Frozen()], "frozen<list<int>>"),
        (Annotated[dict[str, int], Frozen()], "frozen<map<text, int>>"),
        (Annotated[int, BigInt()] | None, "bigint"),
        (Optional[str], "text"),  # noqa: UP045 - the typing spelling must work too
        (list[str] | None, "list<text>"),
        (list[Annotated[int, BigInt()]], "list<bigint>"),
    ],
)
def test_collections_map_to_cql_and_nested_ones_are_frozen(
    annotation: Any, cql: str
) -> None:
    assert column_type(annotation).cql == cql


def test_optional_markers_inside_annotated_are_read() -> None:
    annotation = Annotated[int | None, SmallInt()]

    assert column_type(annotation).cql == "smallint"


def test_a_user_type_column_is_not_frozen_at_the_top_level() -> None:
    column = column_type(Address)

    assert column.cql == '"address"'
    assert column.user_types == (Address,)


def test_a_user_type_is_frozen_when_marked_or_nested() -> None:
    assert column_type(Address, (Frozen(),)).cql == 'frozen<"address">'
    assert column_type(list[Address]).cql == 'list<frozen<"address">>'
    assert column_type(dict[str, Address]).cql == 'map<text, frozen<"address">>'
    assert column_type(Address | None).cql == '"address"'


def test_a_user_type_takes_its_name_from_settings_and_lists_nested_types() -> None:
    column = column_type(Person)

    assert user_type_name(Person) == "person_t"
    assert column.cql == '"person_t"'
    assert column.user_types == (Address, Person)


def test_a_vector_field_is_a_float_vector_of_its_dimensions() -> None:
    column = column_type(list[float], (Vector(384),))

    assert column.cql == "vector<float, 384>"
    assert column.vector == Vector(384)
    assert column_type(Annotated[list[float] | None, Vector(3)]).cql == (
        "vector<float, 3>"
    )


def test_counter_marker_makes_a_counter_column() -> None:
    column = column_type(int, (Counter(),))

    assert column.is_counter
    assert not column_type(int).is_counter


@pytest.mark.parametrize(
    ("annotation", "markers", "advice"),
    [
        (complex, (), "use one of"),
        (object, (), "a UserType, or list/set/frozenset/dict/tuple"),
        (list, (), "use one of"),
        (dict[str, Any], (), "use one of"),
        (tuple[int, ...], (), "or use list[...]"),
        (str, (BigInt(),), "choose one of ascii, text, varchar"),
        (float, (BigInt(),), "choose one of double, float"),
        (uuid.UUID, (CqlType("text"),), "choose one of timeuuid, uuid"),
        (str, (Counter(),), "choose one of ascii, text, varchar"),
        (bool, (Float(),), "choose one of boolean"),
        (list[int], (Vector(3),), "Annotated[list[float], Vector(3)]"),
        (str, (Vector(3),), "Annotated[list[float], Vector(3)]"),
        (Mixed, (), "all str values or all int values"),
    ],
)
def test_unsupported_types_and_markers_say_what_to_use(
    annotation: Any, markers: tuple[Any, ...], advice: str
) -> None:
    with pytest.raises(TypeError) as caught:
        column_type(annotation, markers)

    assert advice in str(caught.value)


@pytest.mark.parametrize(
    "annotation",
    [Literal["a", "b"], Iterable[int], Union[int, str]],  # noqa: UP007
)
def test_unsupported_generic_types_say_what_to_use(annotation: Any) -> None:
    with pytest.raises(TypeError) as caught:
        column_type(annotation)

    assert re.search(r"\b(use|declare)\b", str(caught.value))


def test_vector_dimensions_outside_the_cql_limit_are_refused() -> None:
    with pytest.raises(ValueError, match="between 1 and 8192"):
        Vector(0)
    with pytest.raises(ValueError, match="between 1 and 8192"):
        Vector(8193)


def test_a_user_type_name_cql_cannot_hold_is_refused() -> None:
    class Badly(UserType):
        value: int

        class Settings:
            name = 'x" text, "y'

    with pytest.raises(TypeError, match="letter followed by up to 47"):
        column_type(Badly)


# -- normalizers: what validation stores -----------------------------------------------


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    normalize = column_type(dt.datetime).normalize
    assert normalize is not None

    stored = normalize(dt.datetime(2024, 5, 1, 12, 30, 15))

    assert stored == dt.datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    assert stored.tzinfo is UTC


def test_a_timestamp_in_another_zone_is_converted_to_utc() -> None:
    normalize = column_type(dt.datetime).normalize
    assert normalize is not None
    paris_summer = dt.timezone(dt.timedelta(hours=2))

    stored = normalize(dt.datetime(2024, 5, 1, 12, 0, tzinfo=paris_summer))

    assert stored.tzinfo is UTC
    assert (stored.hour, stored.minute) == (10, 0)


def test_a_timestamp_keeps_milliseconds_only() -> None:
    normalize = column_type(dt.datetime).normalize
    assert normalize is not None

    stored = normalize(dt.datetime(2024, 5, 1, 0, 0, 0, 123_987, tzinfo=UTC))

    assert stored.microsecond == 123_000


def test_timestamps_inside_collections_are_normalized() -> None:
    normalize = column_type(list[dt.datetime]).normalize
    assert normalize is not None

    stored = normalize([dt.datetime(2024, 1, 1, 0, 0, 0, 999)])

    assert stored == [dt.datetime(2024, 1, 1, tzinfo=UTC)]


def test_a_float_column_rounds_to_float32() -> None:
    normalize = column_type(float, (Float(),)).normalize
    assert normalize is not None

    assert normalize(0.1) == _float32(0.1)
    assert normalize(0.1) != 0.1
    assert column_type(float).normalize is None


def test_a_vector_is_rounded_to_float32_and_must_have_its_length() -> None:
    normalize = column_type(list[float], (Vector(3),)).normalize
    assert normalize is not None

    assert normalize([0.1, 0.2, 0.5]) == [_float32(0.1), _float32(0.2), 0.5]
    with pytest.raises(ValueError, match="exactly 3 values, got 2"):
        normalize([0.1, 0.2])


def test_a_negative_duration_is_refused_with_a_way_out() -> None:
    normalize = column_type(dt.timedelta).normalize
    assert normalize is not None

    with pytest.raises(ValueError, match="store the absolute value"):
        normalize(dt.timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("markers", "too_big"),
    [((), 2**31), ((), -(2**31) - 1), ((SmallInt(),), 2**15), ((TinyInt(),), 128)],
)
def test_int_columns_refuse_out_of_range_values(
    markers: tuple[Any, ...], too_big: int
) -> None:
    to_db = column_type(int, markers).to_db
    assert to_db is not None

    with pytest.raises(ValueError, match=r"BigInt\(\) or VarInt\(\)"):
        to_db(too_big)


def test_bigint_holds_64_bits_and_varint_any_size() -> None:
    bigint = column_type(int, (BigInt(),)).to_db
    assert bigint is not None

    assert bigint(2**40) == 2**40
    with pytest.raises(ValueError, match="bigint"):
        bigint(2**63)
    assert column_type(int, (VarInt(),)).to_db is None


def test_timeuuid_refuses_a_random_uuid() -> None:
    to_db = column_type(uuid.UUID, (TimeUUID(),)).to_db
    assert to_db is not None
    time_based = uuid.uuid1()

    assert to_db(time_based) == time_based
    with pytest.raises(ValueError, match=r"version-4 UUID.*uuid\.uuid1\(\)"):
        to_db(uuid.uuid4())


def test_ascii_refuses_other_characters() -> None:
    to_db = column_type(str, (Ascii(),)).to_db
    assert to_db is not None

    assert to_db("plain") == "plain"
    with pytest.raises(ValueError, match="drop the Ascii"):
        to_db("café")


# -- to_db and from_db -----------------------------------------------------------------


def test_a_naive_timestamp_from_the_database_becomes_aware_utc() -> None:
    from_db = column_type(dt.datetime).from_db
    assert from_db is not None

    read = from_db(dt.datetime(2024, 5, 1, 8, 0))

    assert read == dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_sets_and_maps_from_the_database_are_plain_python_containers() -> None:
    set_from_db = column_type(set[int]).from_db
    frozenset_from_db = column_type(frozenset[int]).from_db
    map_from_db = column_type(dict[str, int]).from_db
    assert set_from_db is not None
    assert frozenset_from_db is not None
    assert map_from_db is not None

    assert set_from_db((3, 1)) == {1, 3}
    assert type(set_from_db((3, 1))) is set
    assert type(frozenset_from_db([1])) is frozenset
    assert type(map_from_db(OrderedDict(a=1))) is dict


def test_converters_reach_inside_collections() -> None:
    column = column_type(dict[str, list[dt.datetime]])
    assert column.from_db is not None

    read = column.from_db({"a": [dt.datetime(2024, 1, 1)]})

    assert read == {"a": [dt.datetime(2024, 1, 1, tzinfo=UTC)]}


def test_enums_are_stored_as_their_value() -> None:
    column = column_type(Colour)
    assert column.to_db is not None
    assert column.from_db is not None

    assert column.to_db(Colour.RED) == "red"
    assert column.from_db("green") is Colour.GREEN


def test_enums_inside_collections_are_stored_as_values() -> None:
    column = column_type(set[Level])
    assert column.to_db is not None
    assert column.from_db is not None

    assert column.to_db({Level.LOW, Level.HIGH}) == {1, 2}
    assert column.from_db([2]) == {Level.HIGH}


def test_addresses_travel_as_text() -> None:
    column = column_type(ipaddress.IPv6Address)
    assert column.to_db is not None
    assert column.from_db is not None

    assert column.to_db(ipaddress.ip_address("::1")) == "::1"
    assert column.from_db("10.0.0.1") == ipaddress.IPv4Address("10.0.0.1")


def test_a_duration_round_trips_through_months_days_nanoseconds() -> None:
    column = column_type(dt.timedelta)
    assert column.to_db is not None
    assert column.from_db is not None
    value = dt.timedelta(days=2, seconds=5, microseconds=7)

    stored = column.to_db(value)

    assert tuple(stored) == (0, 2, 5_000_007_000)
    assert column.from_db(stored) == value


def test_a_tuple_converts_each_element() -> None:
    column = column_type(tuple[dt.datetime, Colour])
    assert column.to_db is not None
    assert column.from_db is not None

    assert column.to_db((dt.datetime(2024, 1, 1), Colour.RED))[1] == "red"
    assert column.from_db((dt.datetime(2024, 1, 1), "red")) == (
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        Colour.RED,
    )


def test_a_user_type_value_travels_as_attributes() -> None:
    column = column_type(Person)
    assert column.to_db is not None
    assert column.from_db is not None
    person = Person(home=Address(street="Main", zips=[1]))

    stored = column.to_db(person)

    assert stored.home.street == "Main"
    assert stored.home.zips == [1]


def test_a_user_type_from_the_database_is_converted_and_filled() -> None:
    from_db = column_type(Person).from_db
    assert from_db is not None
    row = types.SimpleNamespace(
        home=types.SimpleNamespace(
            street="Main", zips=None, moved_at=dt.datetime(2020, 1, 1)
        )
    )

    person = from_db(row)

    assert isinstance(person, Person)
    assert person.home.zips == []
    assert person.home.moved_at == dt.datetime(2020, 1, 1, tzinfo=UTC)
