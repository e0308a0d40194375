"""Reading a model class into a table schema, and the mistakes refused there."""

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from coodie.document import DocumentBase
from coodie.exceptions import ConfigurationError, InvalidQueryError
from coodie.fields import (
    ClusteringKey,
    Counter,
    Discriminator,
    Frozen,
    Indexed,
    PrimaryKey,
    Static,
    Vector,
)
from coodie.schema import build_schema, check_identifier
from coodie.types import UserType

INJECTIONS = [
    "users; DROP TABLE x",
    'a"b',
    "with space",
    "x" * 49,
    "1starts_with_digit",
    "_leading",
    "",
    "naïve",
]


class SensorReading(DocumentBase):
    sensor: Annotated[str, PrimaryKey()]
    day: Annotated[dt.date, PrimaryKey(1)]
    at: Annotated[dt.datetime, ClusteringKey(order="DESC")]
    seq: Annotated[int, ClusteringKey(index=1)]
    site_name: Annotated[str, Static()] = ""
    value: Annotated[float, Indexed()] = 0.0
    kind: Annotated[str, Discriminator()] = "reading"
    note: str | None = None
    label: str = Field(default="", alias="Label")

    class Settings:
        keyspace = "metrics"
        default_ttl = 3600
        table_options: ClassVar[dict[str, Any]] = {"comment": "raw readings"}


def test_a_model_without_a_name_is_stored_in_its_snake_case_table() -> None:
    schema = build_schema(SensorReading)

    assert schema.table == "sensor_reading"
    assert schema.keyspace == "metrics"
    assert schema.qualified_table() == '"metrics"."sensor_reading"'


def test_keys_are_ordered_by_their_index() -> None:
    schema = build_schema(SensorReading)

    assert [c.name for c in schema.partition_key] == ["sensor", "day"]
    assert [c.name for c in schema.clustering_key] == ["at", "seq"]
    assert [c.name for c in schema.primary_key] == ["sensor", "day", "at", "seq"]
    assert schema.by_field["at"].clustering_order == "DESC"


def test_markers_reach_the_columns() -> None:
    schema = build_schema(SensorReading)

    assert schema.by_field["site_name"].static
    assert schema.by_field["value"].index == Indexed()
    assert schema.by_field["kind"].discriminator
    assert schema.by_field["note"].nullable
    assert not schema.by_field["sensor"].nullable


def test_an_alias_names_the_column() -> None:
    schema = build_schema(SensorReading)

    assert schema.by_field["label"].name == "Label"
    assert schema.column_for("Label") is schema.by_field["label"]


def test_default_ttl_becomes_a_table_option() -> None:
    schema = build_schema(SensorReading)

    assert schema.options == {"comment": "raw readings", "default_time_to_live": 3600}


def test_an_unknown_field_is_refused_with_the_fields_listed() -> None:
    schema = build_schema(SensorReading)

    with pytest.raises(InvalidQueryError) as caught:
        schema.column_for("sensr")

    message = str(caught.value)
    assert "SensorReading" in message
    assert "'sensr'" in message
    assert "sensor, day, at, seq" in message


def test_a_model_without_a_partition_key_is_refused() -> None:
    class Keyless(DocumentBase):
        name: str

    with pytest.raises(ConfigurationError, match=r"Keyless.*PrimaryKey\(\)"):
        build_schema(Keyless)


def test_a_field_cannot_be_both_partition_and_clustering_key() -> None:
    class Both(DocumentBase):
        id: Annotated[int, PrimaryKey(), ClusteringKey()]

    with pytest.raises(ConfigurationError, match=r"Both\.id.*one or the other"):
        build_schema(Both)


def test_two_key_parts_in_one_position_are_refused() -> None:
    class Clash(DocumentBase):
        a: Annotated[int, PrimaryKey()]
        b: Annotated[int, PrimaryKey()]

    with pytest.raises(ConfigurationError, match=r"PrimaryKey\(0\), PrimaryKey\(1\)"):
        build_schema(Clash)


def test_an_unfrozen_collection_cannot_be_a_key() -> None:
    class ListKey(DocumentBase):
        id: Annotated[list[int], PrimaryKey()]

    with pytest.raises(ConfigurationError, match=r"ListKey\.id.*Frozen\(\)"):
        build_schema(ListKey)


def test_a_frozen_collection_can_be_a_key() -> None:
    class FrozenKey(DocumentBase):
        id: Annotated[list[int], PrimaryKey(), Frozen()]

    assert build_schema(FrozenKey).partition_key[0].type.cql == "frozen<list<int>>"


class Spot(UserType):
    x: int
    y: int


def test_an_unfrozen_user_type_cannot_be_a_key() -> None:
    class Located(DocumentBase):
        spot: Annotated[Spot, PrimaryKey()]

    with pytest.raises(ConfigurationError, match=r"Located\.spot.*Frozen\(\)"):
        build_schema(Located)


def test_a_frozen_user_type_can_be_a_key() -> None:
    class Located(DocumentBase):
        spot: Annotated[Spot, PrimaryKey(), Frozen()]

    assert build_schema(Located).partition_key[0].type.cql == 'frozen<"spot">'


def test_a_vector_cannot_be_a_key() -> None:
    class VectorKey(DocumentBase):
        id: Annotated[list[float], PrimaryKey(), Vector(2)]

    with pytest.raises(ConfigurationError, match=r"VectorKey\.id"):
        build_schema(VectorKey)


def test_an_unsupported_field_type_names_model_and_field() -> None:
    class Odd(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        value: complex

    with pytest.raises(ConfigurationError, match=r"Odd\.value: .*use one of"):
        build_schema(Odd)


def test_unknown_table_options_are_refused_with_the_known_ones() -> None:
    class Tuned(DocumentBase):
        id: Annotated[int, PrimaryKey()]

        class Settings:
            table_options: ClassVar[dict[str, Any]] = {"compresion": {}}

    with pytest.raises(ConfigurationError, match="compresion; known ones are"):
        build_schema(Tuned)


@pytest.mark.parametrize("name", INJECTIONS)
def test_check_identifier_refuses_names_cql_cannot_hold(name: str) -> None:
    with pytest.raises(ConfigurationError, match="letter followed by up to 47"):
        check_identifier("table", name)


def test_check_identifier_accepts_48_characters() -> None:
    assert check_identifier("table", "a" * 48) == "a" * 48


def _model_with_settings(**settings: str) -> type[DocumentBase]:
    namespace = {
        "__module__": __name__,
        "__qualname__": "Injected",
        "__annotations__": {"id": Annotated[int, PrimaryKey()]},
        "Settings": type(
            "Settings",
            (),
            {"__module__": __name__, "__qualname__": "Injected.Settings", **settings},
        ),
    }
    return type("Injected", (DocumentBase,), namespace)


@pytest.mark.parametrize("name", [n for n in INJECTIONS if n])
def test_a_table_name_that_could_inject_cql_is_refused(name: str) -> None:
    model = _model_with_settings(name=name)

    with pytest.raises(ConfigurationError, match="table name of Injected"):
        build_schema(model)


@pytest.mark.parametrize("name", [n for n in INJECTIONS if n])
def test_a_keyspace_name_that_could_inject_cql_is_refused(name: str) -> None:
    model = _model_with_settings(keyspace=name)

    with pytest.raises(ConfigurationError, match="keyspace name of Injected"):
        build_schema(model)


@pytest.mark.parametrize("alias", ['a"b', "a b", "x;y", "1a", "c" * 129])
def test_a_column_name_that_could_inject_cql_is_refused(alias: str) -> None:
    class Aliased(DocumentBase):
        id: Annotated[int, PrimaryKey()] = Field(alias=alias)  # type: ignore[literal-required]

    with pytest.raises(ConfigurationError, match=r"Aliased\.id would be stored as"):
        build_schema(Aliased)


def test_an_index_name_that_could_inject_cql_is_refused() -> None:
    class Indexed_(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        name: Annotated[str, Indexed(name="x ON y")] = ""

    with pytest.raises(ConfigurationError, match=r"index name of Indexed_\.name"):
        build_schema(Indexed_)


def test_a_counter_table_holds_only_keys_and_counters() -> None:
    class Views(DocumentBase):
        __coodie_counters__: ClassVar[bool] = True
        page: Annotated[str, PrimaryKey()]
        views: Annotated[int, Counter()] = 0
        title: str = ""

    with pytest.raises(ConfigurationError, match=r"Views\.title is not a counter"):
        Views.table_schema()


def test_counters_need_a_counter_document() -> None:
    class Views(DocumentBase):
        page: Annotated[str, PrimaryKey()]
        views: Annotated[int, Counter()] = 0

    with pytest.raises(ConfigurationError, match="derive from CounterDocument"):
        Views.table_schema()


def test_a_counter_document_needs_a_counter() -> None:
    class Views(DocumentBase):
        __coodie_counters__: ClassVar[bool] = True
        page: Annotated[str, PrimaryKey()]

    with pytest.raises(ConfigurationError, match=r"Annotated\[int, Counter\(\)\]"):
        Views.table_schema()


def test_an_abstract_base_has_no_table() -> None:
    class Base(DocumentBase):
        __coodie_abstract__: ClassVar[bool] = True
        id: Annotated[uuid.UUID, PrimaryKey()]

    with pytest.raises(ConfigurationError, match="subclass it"):
        Base.table_schema()


def test_the_schema_is_read_once_per_class() -> None:
    assert SensorReading.table_schema() is SensorReading.table_schema()
