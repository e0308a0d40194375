"""Documents: what validation stores, rows read back, values bound, changes mirrored."""

import datetime as dt
import ipaddress
import struct
import uuid
from typing import Annotated, Any

import pytest
from pydantic import Field, ValidationError

from coodie.document import DocumentBase, lwt_result
from coodie.exceptions import InvalidQueryError
from coodie.fields import BigInt, ClusteringKey, Float, PrimaryKey, TimeUUID, Vector
from coodie.results import ResultPage

UTC = dt.timezone.utc


class Event(DocumentBase):
    id: Annotated[uuid.UUID, PrimaryKey()]
    at: Annotated[dt.datetime, ClusteringKey()]
    ratio: Annotated[float, Float()] = 0.0
    embedding: Annotated[list[float], Vector(3)] | None = None
    tags: list[str] = Field(default_factory=list)
    labels: set[str]
    scores: dict[str, int] = Field(default_factory=dict)
    optional_tags: set[str] | None = None
    host: ipaddress.IPv4Address | None = None
    views: int = 0
    total: Annotated[int, BigInt()] = 0
    trace: Annotated[uuid.UUID, TimeUUID()] | None = None
    title: str = "untitled"

    class Settings:
        name = "events"
        keyspace = "ks"


ROW_COLUMNS = (
    "id",
    "at",
    "ratio",
    "embedding",
    "tags",
    "labels",
    "scores",
    "optional_tags",
    "host",
    "views",
    "total",
    "trace",
    "title",
)


def _event(**values: Any) -> Event:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "at": dt.datetime(2024, 1, 1),
        "labels": set(),
    }
    fields.update(values)
    return Event(**fields)


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


# -- validation stores what Cassandra keeps --------------------------------------------


def test_a_document_holds_naive_timestamps_as_aware_utc() -> None:
    event = _event(at=dt.datetime(2024, 3, 1, 9, 15, 0, 500_999))

    assert event.at == dt.datetime(2024, 3, 1, 9, 15, 0, 500_000, tzinfo=UTC)
    assert event.at.tzinfo is UTC


def test_a_document_holds_zoned_timestamps_in_utc() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))

    event = _event(at=dt.datetime(2024, 3, 1, 9, 0, tzinfo=tokyo))

    assert event.at == dt.datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert event.at.utcoffset() == dt.timedelta(0)


def test_a_document_holds_float32_values() -> None:
    event = _event(ratio=0.1, embedding=[0.1, 0.2, 0.3])

    assert event.ratio == _float32(0.1)
    assert event.embedding == [_float32(0.1), _float32(0.2), _float32(0.3)]


def test_a_vector_of_the_wrong_length_is_refused_at_validation() -> None:
    with pytest.raises(ValidationError, match="exactly 3 values, got 4"):
        _event(embedding=[0.0, 0.0, 0.0, 0.0])


# -- rows into documents ---------------------------------------------------------------


def _row(**overrides: object) -> tuple[object, ...]:
    values: dict[str, object] = dict.fromkeys(ROW_COLUMNS)
    values.update(
        id=uuid.UUID(int=1),
        at=dt.datetime(2024, 1, 1, 8, 0),
        ratio=0.5,
        views=3,
        total=2**40,
        title="hello",
    )
    values.update(overrides)
    return tuple(values[name] for name in ROW_COLUMNS)


def test_from_rows_makes_timestamps_aware_utc() -> None:
    (event,) = Event.from_rows(ROW_COLUMNS, [_row()])

    assert event.at == dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    assert event.title == "hello"
    assert event.total == 2**40


def test_from_rows_fills_missing_collections_unless_optional() -> None:
    (event,) = Event.from_rows(ROW_COLUMNS, [_row()])

    assert event.tags == []
    assert event.labels == set()
    assert event.scores == {}
    assert event.optional_tags is None
    assert event.embedding is None


def test_from_rows_turns_driver_collections_into_python_ones() -> None:
    row = _row(
        labels=("b", "a"),
        scores=[("x", 1)],
        host="10.1.2.3",
        embedding=(0.5, 0.25, 1.0),
    )

    (event,) = Event.from_rows(ROW_COLUMNS, [row])

    assert event.labels == {"a", "b"}
    assert type(event.labels) is set
    assert event.scores == {"x": 1}
    assert type(event.scores) is dict
    assert event.host == ipaddress.IPv4Address("10.1.2.3")
    assert event.embedding == [0.5, 0.25, 1.0]


def test_from_rows_equals_what_was_validated() -> None:
    written = _event(id=uuid.UUID(int=1), at=dt.datetime(2024, 1, 1, 8, 0))
    row = tuple(written.model_dump()[name] for name in ROW_COLUMNS)

    (read,) = Event.from_rows(ROW_COLUMNS, [row])

    assert read == written
    assert read.model_fields_set == set(Event.model_fields)


def test_a_projection_gives_the_other_fields_their_defaults() -> None:
    (event,) = Event.from_rows(
        ("id", "at"), [(uuid.UUID(int=2), dt.datetime(2024, 1, 1))]
    )

    assert event.title == "untitled"
    assert event.tags == []
    assert event.model_fields_set == {"id", "at"}


def test_a_column_the_model_does_not_declare_is_ignored() -> None:
    class Small(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        name: str = "anon"

    (document,) = Small.from_rows(("id", "legacy"), [(1, "old")])

    assert document.name == "anon"
    assert not hasattr(document, "legacy")


def test_documents_of_one_projection_share_no_mutable_state() -> None:
    first, second = Event.from_rows(("id",), [(uuid.UUID(int=3),), (uuid.UUID(int=4),)])

    first.tags.append("mine")
    first.title = "changed"

    assert second.tags == []
    assert second.model_fields_set == {"id"}
    assert first.model_fields_set == {"id", "title"}


def test_an_aware_timestamp_from_a_row_comes_back_in_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2024, 1, 1, 10, 0, tzinfo=plus_two)

    (event,) = Event.from_rows(ROW_COLUMNS, [_row(at=at)])

    assert event.at == at
    assert event.at.tzinfo is UTC
    assert event.at.hour == 8


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="unpack"):
        Event.from_rows(ROW_COLUMNS, [_row()[:-1]])


# -- values bound for a filter ---------------------------------------------------------


def test_a_filter_value_is_validated_normalized_and_converted() -> None:
    column = Event.table_schema().by_field["at"]

    bound = Event.validate_filter_value(column, "2024-01-01T10:00:00.123456")

    assert bound == dt.datetime(2024, 1, 1, 10, 0, 0, 123_000, tzinfo=UTC)


def test_a_filter_value_of_the_wrong_type_names_model_and_field() -> None:
    column = Event.table_schema().by_field["views"]

    with pytest.raises(InvalidQueryError) as caught:
        Event.validate_filter_value(column, "many")

    message = str(caught.value)
    assert "Event.views" in message
    assert "pass a int" in message


def test_an_int_out_of_range_is_refused_with_the_markers_to_use() -> None:
    column = Event.table_schema().by_field["views"]

    with pytest.raises(InvalidQueryError, match=r"Event\.views.*BigInt\(\)"):
        Event.validate_filter_value(column, 2**31)


def test_a_random_uuid_is_refused_for_a_timeuuid() -> None:
    column = Event.table_schema().by_field["trace"]

    with pytest.raises(InvalidQueryError, match=r"Event\.trace.*uuid1"):
        Event.validate_filter_value(column, uuid.uuid4())


def test_key_values_refuse_an_empty_partition_key() -> None:
    class Named(DocumentBase):
        name: Annotated[str, PrimaryKey()]

    with pytest.raises(InvalidQueryError, match=r"Named\.name .* cannot be empty"):
        Named(name="").key_values()


# -- changes mirrored after an update --------------------------------------------------


def test_apply_changes_mirrors_each_operator() -> None:
    event = _event(tags=["b"], labels={"x"}, scores={"a": 1}, views=1)

    event._apply_changes(
        {
            "tags__append": ["c"],
            "labels__add": {"y"},
            "scores__put": {"b": 2},
            "title": "new",
            "at": dt.datetime(2025, 1, 1),
        }
    )
    event._apply_changes({"tags__prepend": ["a"], "scores__remove": "a"})

    assert event.tags == ["a", "b", "c"]
    assert event.labels == {"x", "y"}
    assert event.scores == {"b": 2}
    assert event.title == "new"
    assert event.at == dt.datetime(2025, 1, 1, tzinfo=UTC)


def test_apply_changes_counts_from_zero_when_the_row_had_no_value() -> None:
    (event,) = Event.from_rows(ROW_COLUMNS, [_row(views=None)])

    event._apply_changes({"views__incr": 5})
    event._apply_changes({"views__decr": 2})

    assert event.views == 3


# -- conditional writes ----------------------------------------------------------------


def test_an_applied_conditional_write_has_no_existing_row() -> None:
    result = lwt_result(Event, ResultPage(("[applied]",), [(True,)]))

    assert result.applied
    assert result
    assert result.existing is None


def test_a_refused_conditional_write_returns_the_existing_row() -> None:
    page = ResultPage(("[applied]", *ROW_COLUMNS), [(False, *_row(title="theirs"))])

    result = lwt_result(Event, page)

    assert not result
    assert result.existing is not None
    assert result.existing.title == "theirs"
    assert result.existing.at.tzinfo is UTC


def test_a_refused_write_without_a_row_still_reports_not_applied() -> None:
    result = lwt_result(Event, ResultPage(("[applied]",), [(False,)]))

    assert not result.applied
    assert result.existing is None


def test_a_value_of_the_right_type_still_meets_the_fields_constraints() -> None:
    class Limited(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        code: Annotated[str, Field(max_length=3)] = ""

    column = Limited.table_schema().by_field["code"]

    assert Limited.validate_filter_value(column, "abc") == "abc"
    with pytest.raises(InvalidQueryError, match=r"Limited\.code"):
        Limited.validate_filter_value(column, "abcd")
