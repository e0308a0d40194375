"""The exact CQL text of every statement coodie builds."""

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar

import pytest

from coodie.cql_builder import (
    Assignment,
    Condition,
    aggregate_selector,
    alter_keyspace_cql,
    alter_table_add_column_cql,
    batch_cql,
    create_index_cql,
    create_keyspace_cql,
    create_materialized_view_cql,
    create_table_cql,
    create_type_cql,
    delete_cql,
    drop_keyspace_cql,
    drop_table_cql,
    index_name,
    insert_cql,
    insert_json_cql,
    metadata_selector,
    select_cql,
    truncate_cql,
    update_cql,
)
from coodie.document import DocumentBase
from coodie.exceptions import ConfigurationError, CoodieError, InvalidQueryError
from coodie.fields import (
    ClusteringKey,
    Frozen,
    Indexed,
    PrimaryKey,
    Static,
    Vector,
)
from coodie.schema import TableSchema
from coodie.types import UserType

INJECTIONS = ["users; DROP TABLE x", 'a"b', "with space", "k" * 49]


class Reading(DocumentBase):
    sensor: Annotated[str, PrimaryKey()]
    day: Annotated[dt.date, PrimaryKey(1)]
    at: Annotated[dt.datetime, ClusteringKey(order="DESC")]
    seq: Annotated[int, ClusteringKey(index=1)]
    site: Annotated[str, Static()] = ""
    value: float = 0.0
    tags: list[str] = []
    attrs: dict[str, str] = {}

    class Settings:
        name = "readings"
        keyspace = "metrics"
        default_ttl = 86400
        table_options: ClassVar[dict[str, Any]] = {
            "comment": "it's raw",
            "compaction": {"class": "LeveledCompactionStrategy"},
            "gc_grace_seconds": 3600,
        }


class Item(DocumentBase):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str = ""

    class Settings:
        name = "items"


class Searchable(DocumentBase):
    id: Annotated[int, PrimaryKey()]
    tags: Annotated[set[str], Indexed()] = set()
    attrs: Annotated[dict[str, int], Indexed(target="keys")] = {}
    extras: Annotated[dict[str, int], Indexed(target="entries", name="by_extra")] = {}
    shape: Annotated[list[int], Frozen(), Indexed(target="full")] = []
    bio: Annotated[str, Indexed(kind="sasi", options={"mode": "CONTAINS"})] = ""
    email: Annotated[str, Indexed(kind="secondary")] = ""
    embedding: Annotated[list[float], Vector(3, "dot_product"), Indexed()] = [
        0.0,
        0.0,
        0.0,
    ]

    class Settings:
        name = "docs"
        keyspace = "ks"


class Point(UserType):
    x: float
    y: float


def _schema(model: type[DocumentBase]) -> TableSchema:
    return model.table_schema()


def _column(model: type[DocumentBase], field_name: str) -> Any:
    return model.table_schema().by_field[field_name]


# -- keyspaces -------------------------------------------------------------------------


def test_create_keyspace_with_simple_strategy() -> None:
    assert create_keyspace_cql("shop", 3) == (
        "CREATE KEYSPACE IF NOT EXISTS \"shop\" WITH replication = {'class': "
        "'SimpleStrategy', 'replication_factor': 3} AND durable_writes = true"
    )


def test_create_keyspace_per_data_centre_without_durable_writes() -> None:
    cql = create_keyspace_cql(
        "shop",
        strategy="NetworkTopologyStrategy",
        data_centers={"eu-west": 3, "us_east": 2},
        durable_writes=False,
        if_not_exists=False,
    )

    assert cql == (
        "CREATE KEYSPACE \"shop\" WITH replication = {'class': "
        "'NetworkTopologyStrategy', 'eu-west': 3, 'us_east': 2} "
        "AND durable_writes = false"
    )


def test_alter_and_drop_keyspace() -> None:
    assert alter_keyspace_cql("shop", 2) == (
        "ALTER KEYSPACE \"shop\" WITH replication = {'class': 'SimpleStrategy', "
        "'replication_factor': 2} AND durable_writes = true"
    )
    assert drop_keyspace_cql("shop") == 'DROP KEYSPACE IF EXISTS "shop"'
    assert drop_keyspace_cql("shop", if_exists=False) == 'DROP KEYSPACE "shop"'


def test_a_data_centre_name_is_a_quoted_literal() -> None:
    cql = create_keyspace_cql(
        "shop", strategy="NetworkTopologyStrategy", data_centers={"dc'1": 1}
    )

    assert "'dc''1': 1" in cql


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"replication_factor": 0}, "at least 1"),
        ({"strategy": "NetworkTopologyStrategy"}, "data_centers="),
        (
            {"strategy": "NetworkTopologyStrategy", "data_centers": {"dc1": -1}},
            "'dc1' must be a whole number",
        ),
        ({"strategy": "LocalStrategy"}, "use SimpleStrategy or"),
    ],
)
def test_bad_replication_settings_are_refused(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        create_keyspace_cql("shop", **arguments)


@pytest.mark.parametrize("name", INJECTIONS)
def test_keyspace_statements_refuse_names_that_inject_cql(name: str) -> None:
    with pytest.raises(ConfigurationError):
        create_keyspace_cql(name)
    with pytest.raises(ConfigurationError):
        alter_keyspace_cql(name)
    with pytest.raises(ConfigurationError):
        drop_keyspace_cql(name)


# -- tables, types, indexes, views -----------------------------------------------------


def test_create_table_with_composite_key_order_static_and_options() -> None:
    assert create_table_cql(_schema(Reading)) == (
        'CREATE TABLE IF NOT EXISTS "metrics"."readings" ("sensor" text, '
        '"day" date, "at" timestamp, "seq" int, "site" text STATIC, '
        '"value" double, "tags" list<text>, "attrs" map<text, text>, '
        'PRIMARY KEY (("sensor", "day"), "at", "seq")) '
        'WITH CLUSTERING ORDER BY ("at" DESC, "seq" ASC) '
        "AND comment = 'it''s raw' "
        "AND compaction = {'class': 'LeveledCompactionStrategy'} "
        "AND gc_grace_seconds = 3600 AND default_time_to_live = 86400"
    )


def test_create_table_in_the_connection_keyspace() -> None:
    assert create_table_cql(_schema(Item), "shop", if_not_exists=False) == (
        'CREATE TABLE "shop"."items" ("id" uuid, "name" text, PRIMARY KEY (("id")))'
    )
    assert create_table_cql(_schema(Item)) == (
        'CREATE TABLE IF NOT EXISTS "items" ("id" uuid, "name" text, '
        'PRIMARY KEY (("id")))'
    )


def test_a_models_own_keyspace_wins_over_the_connection_one() -> None:
    assert drop_table_cql(_schema(Reading), "other") == (
        'DROP TABLE IF EXISTS "metrics"."readings"'
    )


def test_alter_drop_and_truncate_table() -> None:
    schema = _schema(Item)

    assert alter_table_add_column_cql(schema, _column(Item, "name"), "shop") == (
        'ALTER TABLE "shop"."items" ADD "name" text'
    )
    assert alter_table_add_column_cql(_schema(Reading), _column(Reading, "site")) == (
        'ALTER TABLE "metrics"."readings" ADD "site" text STATIC'
    )
    assert drop_table_cql(schema, "shop", if_exists=False) == (
        'DROP TABLE "shop"."items"'
    )
    assert truncate_cql(schema, "shop") == 'TRUNCATE "shop"."items"'


def test_create_type() -> None:
    assert create_type_cql(Point, "geo") == (
        'CREATE TYPE IF NOT EXISTS "geo"."point" ("x" double, "y" double)'
    )
    assert create_type_cql(Point, None, if_not_exists=False) == (
        'CREATE TYPE "point" ("x" double, "y" double)'
    )


def test_user_types_and_collections_inside_a_user_type_are_frozen() -> None:
    class Segment(UserType):
        start: Point
        end: Point | None = None
        marks: list[int] = []

    cql = create_type_cql(Segment, None)

    assert cql == (
        'CREATE TYPE IF NOT EXISTS "segment" ("start" frozen<"point">, '
        '"end" frozen<"point">, "marks" frozen<list<int>>)'
    )


@pytest.mark.parametrize(
    ("field_name", "cql"),
    [
        (
            "tags",
            'CREATE INDEX IF NOT EXISTS "docs_tags_idx" ON "ks"."docs" ("tags") '
            "USING 'sai'",
        ),
        (
            "attrs",
            'CREATE INDEX IF NOT EXISTS "docs_attrs_idx" ON "ks"."docs" '
            "(KEYS(\"attrs\")) USING 'sai'",
        ),
        (
            "extras",
            'CREATE INDEX IF NOT EXISTS "by_extra" ON "ks"."docs" '
            "(ENTRIES(\"extras\")) USING 'sai'",
        ),
        (
            "shape",
            'CREATE INDEX IF NOT EXISTS "docs_shape_idx" ON "ks"."docs" '
            "(FULL(\"shape\")) USING 'sai'",
        ),
        (
            "bio",
            'CREATE INDEX IF NOT EXISTS "docs_bio_idx" ON "ks"."docs" ("bio") '
            "USING 'org.apache.cassandra.index.sasi.SASIIndex' "
            "WITH OPTIONS = {'mode': 'CONTAINS'}",
        ),
        (
            "email",
            'CREATE INDEX IF NOT EXISTS "docs_email_idx" ON "ks"."docs" ("email")',
        ),
        (
            "embedding",
            'CREATE INDEX IF NOT EXISTS "docs_embedding_idx" ON "ks"."docs" '
            "(\"embedding\") USING 'sai' "
            "WITH OPTIONS = {'similarity_function': 'dot_product'}",
        ),
    ],
)
def test_create_index_for_each_kind_and_target(field_name: str, cql: str) -> None:
    schema = _schema(Searchable)

    assert create_index_cql(schema, schema.by_field[field_name]) == cql


def test_an_index_needs_an_indexed_marker() -> None:
    with pytest.raises(InvalidQueryError, match=r"Item\.name has no Indexed"):
        create_index_cql(_schema(Item), _column(Item, "name"))


def test_a_long_generated_index_name_is_cut_to_48_characters() -> None:
    class LongNames(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        a_rather_long_column_name_for_an_index: Annotated[str, Indexed()] = ""

        class Settings:
            name = "a_table_with_a_long_name"

    schema = _schema(LongNames)
    column = schema.by_field["a_rather_long_column_name_for_an_index"]

    assert len(index_name(schema, column)) == 48
    assert create_index_cql(schema, column).startswith(
        f'CREATE INDEX IF NOT EXISTS "{index_name(schema, column)}" ON'
    )


def test_generated_index_names_of_two_columns_differ() -> None:
    class Similar(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        customer_shipping_address_line_one: Annotated[str, Indexed()] = ""
        customer_shipping_address_line_two: Annotated[str, Indexed()] = ""

        class Settings:
            name = "orders_by_customer"

    schema = _schema(Similar)
    first, second = schema.columns[1:]

    assert index_name(schema, first) != index_name(schema, second)


def test_create_materialized_view() -> None:
    class ItemByName(DocumentBase):
        name: Annotated[str, PrimaryKey()]
        id: Annotated[uuid.UUID, ClusteringKey(order="DESC")]

        class Settings:
            name = "items_by_name"

    cql = create_materialized_view_cql(_schema(ItemByName), _schema(Item), "shop")

    assert cql == (
        'CREATE MATERIALIZED VIEW IF NOT EXISTS "shop"."items_by_name" AS '
        'SELECT "name", "id" FROM "shop"."items" '
        'WHERE "name" IS NOT NULL AND "id" IS NOT NULL '
        'PRIMARY KEY (("name"), "id") WITH CLUSTERING ORDER BY ("id" DESC)'
    )


# -- data manipulation -----------------------------------------------------------------


def test_insert_with_guard_ttl_and_timestamp() -> None:
    schema = _schema(Item)

    assert insert_cql(schema, "shop", ("id", "name")) == (
        'INSERT INTO "shop"."items" ("id", "name") VALUES (?, ?)'
    )
    assert insert_cql(
        schema, "shop", ("id", "name"), if_not_exists=True, ttl=True, timestamp=True
    ) == (
        'INSERT INTO "shop"."items" ("id", "name") VALUES (?, ?) '
        "IF NOT EXISTS USING TTL ? AND TIMESTAMP ?"
    )
    assert insert_cql(schema, None, ("id",), timestamp=True) == (
        'INSERT INTO "items" ("id") VALUES (?) USING TIMESTAMP ?'
    )


def test_insert_json() -> None:
    assert insert_json_cql(_schema(Item), "shop", if_not_exists=True) == (
        'INSERT INTO "shop"."items" JSON ? DEFAULT UNSET IF NOT EXISTS'
    )


@pytest.mark.parametrize(
    ("operator", "cql"),
    [
        ("set", '"c" = ?'),
        ("append", '"c" = "c" + ?'),
        ("prepend", '"c" = ? + "c"'),
        ("add", '"c" = "c" + ?'),
        ("remove", '"c" = "c" - ?'),
        ("put", '"c" = "c" + ?'),
        ("set_at", '"c"[?] = ?'),
        ("incr", '"c" = "c" + ?'),
        ("decr", '"c" = "c" - ?'),
    ],
)
def test_each_assignment_operator(operator: str, cql: str) -> None:
    assert Assignment("c", operator).cql() == cql


def test_an_unknown_assignment_operator_lists_the_known_ones() -> None:
    with pytest.raises(InvalidQueryError, match="use one of add, append"):
        Assignment("c", "multiply").cql()


def test_update_with_using_where_and_conditions() -> None:
    cql = update_cql(
        _schema(Item),
        "shop",
        (Assignment("name"), Assignment("tags", "append")),
        (Condition("id"),),
        conditions=(Condition("name", "!="), Condition("rank", "IN")),
        ttl=True,
        timestamp=True,
    )

    assert cql == (
        'UPDATE "shop"."items" USING TTL ? AND TIMESTAMP ? SET "name" = ?, '
        '"tags" = "tags" + ? WHERE "id" = ? IF "name" != ? AND "rank" IN ?'
    )


def test_update_if_exists() -> None:
    cql = update_cql(
        _schema(Item), None, (Assignment("name"),), (Condition("id"),), if_exists=True
    )

    assert cql == 'UPDATE "items" SET "name" = ? WHERE "id" = ? IF EXISTS'


def test_update_refuses_if_exists_with_conditions_and_no_change() -> None:
    with pytest.raises(InvalidQueryError, match="cannot be combined"):
        update_cql(
            _schema(Item),
            None,
            (Assignment("name"),),
            (Condition("id"),),
            conditions=(Condition("name"),),
            if_exists=True,
        )
    with pytest.raises(InvalidQueryError, match="Item needs a change"):
        update_cql(_schema(Item), None, (), (Condition("id"),))


def test_delete_a_row_columns_and_elements() -> None:
    schema = _schema(Item)
    where = (Condition("id"),)

    assert delete_cql(schema, "shop", where) == (
        'DELETE FROM "shop"."items" WHERE "id" = ?'
    )
    assert delete_cql(
        schema, "shop", where, columns=("name",), elements=("attrs",), timestamp=True
    ) == (
        'DELETE "name", "attrs"[?] FROM "shop"."items" USING TIMESTAMP ? WHERE "id" = ?'
    )
    assert delete_cql(schema, "shop", where, conditions=(Condition("name"),)) == (
        'DELETE FROM "shop"."items" WHERE "id" = ? IF "name" = ?'
    )
    assert delete_cql(schema, "shop", where, if_exists=True) == (
        'DELETE FROM "shop"."items" WHERE "id" = ? IF EXISTS'
    )


@pytest.mark.parametrize(
    ("condition", "cql"),
    [
        (Condition("a"), '"a" = ?'),
        (Condition("a", "<"), '"a" < ?'),
        (Condition("a", "<="), '"a" <= ?'),
        (Condition("a", ">"), '"a" > ?'),
        (Condition("a", ">="), '"a" >= ?'),
        (Condition("a", "!="), '"a" != ?'),
        (Condition("a", "IN"), '"a" IN ?'),
        (Condition("a", "CONTAINS"), '"a" CONTAINS ?'),
        (Condition("a", "CONTAINS KEY"), '"a" CONTAINS KEY ?'),
        (Condition("a", "LIKE"), '"a" LIKE ?'),
        (Condition("token", ">", token=("p", "q")), 'token("p", "q") > ?'),
    ],
)
def test_select_with_each_operator(condition: Condition, cql: str) -> None:
    assert select_cql(_schema(Item), None, (condition,)) == (
        f'SELECT * FROM "items" WHERE {cql}'
    )


def test_an_unknown_where_operator_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="unknown operator 'OR'"):
        select_cql(_schema(Item), None, (Condition("a", "OR"),))


def test_select_with_every_clause() -> None:
    cql = select_cql(
        _schema(Reading),
        None,
        (Condition("sensor"), Condition("day", "IN"), Condition("value", ">")),
        columns=("sensor", "value"),
        order_by=(("at", "ASC"), ("seq", "DESC")),
        limit=True,
        per_partition_limit=True,
        allow_filtering=True,
    )

    assert cql == (
        'SELECT "sensor", "value" FROM "metrics"."readings" '
        'WHERE "sensor" = ? AND "day" IN ? AND "value" > ? '
        'ORDER BY "at" ASC, "seq" DESC PER PARTITION LIMIT ? LIMIT ? ALLOW FILTERING'
    )


def test_select_distinct_partition_keys() -> None:
    assert select_cql(_schema(Reading), None, distinct=True) == (
        'SELECT DISTINCT "sensor", "day" FROM "metrics"."readings"'
    )


def test_select_json_rows() -> None:
    assert select_cql(_schema(Item), "shop", columns=("name",), json_rows=True) == (
        'SELECT JSON "name" FROM "shop"."items"'
    )


def test_select_aggregates_and_column_metadata() -> None:
    cql = select_cql(
        _schema(Reading),
        None,
        (Condition("sensor"), Condition("day")),
        columns=("at",),
        selectors=(
            aggregate_selector("count"),
            aggregate_selector("max", "value"),
            metadata_selector("WRITETIME", "value"),
            metadata_selector("TTL", "site"),
        ),
        group_by=("sensor", "day", "at"),
    )

    assert cql == (
        'SELECT "at", COUNT(*), MAX("value"), WRITETIME("value"), TTL("site") '
        'FROM "metrics"."readings" WHERE "sensor" = ? AND "day" = ? '
        'GROUP BY "sensor", "day", "at"'
    )


@pytest.mark.parametrize("function", ["MIN", "MAX", "SUM", "AVG"])
def test_aggregates_other_than_count_need_a_column(function: str) -> None:
    assert aggregate_selector(function.lower(), "v") == f'{function}("v")'
    with pytest.raises(InvalidQueryError, match=f"{function} needs a column"):
        aggregate_selector(function)


def test_unknown_aggregates_and_metadata_are_refused() -> None:
    with pytest.raises(InvalidQueryError, match="use one of AVG, COUNT"):
        aggregate_selector("median", "v")
    with pytest.raises(InvalidQueryError, match="unknown column metadata"):
        metadata_selector("SIZE", "v")  # type: ignore[arg-type]


def test_select_nearest_vectors() -> None:
    cql = select_cql(_schema(Searchable), None, ann_of="embedding", limit=True)

    assert cql == 'SELECT * FROM "ks"."docs" ORDER BY "embedding" ANN OF ? LIMIT ?'
    with pytest.raises(InvalidQueryError, match="ANN OF ordering replaces"):
        select_cql(
            _schema(Searchable), None, ann_of="embedding", order_by=(("id", "ASC"),)
        )


@pytest.mark.parametrize(
    ("kind", "timestamp", "cql"),
    [
        ("LOGGED", False, "BEGIN BATCH a; b; APPLY BATCH"),
        ("UNLOGGED", False, "BEGIN UNLOGGED BATCH a; b; APPLY BATCH"),
        ("COUNTER", False, "BEGIN COUNTER BATCH a; b; APPLY BATCH"),
        ("LOGGED", True, "BEGIN BATCH USING TIMESTAMP ? a; b; APPLY BATCH"),
    ],
)
def test_batch(kind: Any, timestamp: bool, cql: str) -> None:
    assert batch_cql(["a", "b"], kind, timestamp=timestamp) == cql


def test_an_unknown_batch_kind_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="unknown batch kind"):
        batch_cql(["a"], "ATOMIC")  # type: ignore[arg-type]


def test_statement_text_is_cached_per_shape() -> None:
    schema = _schema(Item)

    first = select_cql(schema, "shop", (Condition("id"),), limit=True)
    second = select_cql(schema, "shop", (Condition("id"),), limit=True)

    assert first is second


# -- the keyspace a caller passes ------------------------------------------------------


@pytest.mark.parametrize("keyspace", INJECTIONS)
def test_a_keyspace_argument_that_injects_cql_is_refused(keyspace: str) -> None:
    schema = _schema(Item)

    with pytest.raises(CoodieError):
        select_cql(schema, keyspace)
    with pytest.raises(CoodieError):
        create_table_cql(schema, keyspace)
    with pytest.raises(CoodieError):
        create_type_cql(Point, keyspace)
