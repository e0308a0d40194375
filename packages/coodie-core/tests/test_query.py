"""Query chains: filters, options, ordering, projections and their statements."""

import datetime as dt
import struct
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from coodie.document import DocumentBase
from coodie.exceptions import CoodieError, InvalidQueryError, ReadOnlyModelError
from coodie.fields import ClusteringKey, Counter, PrimaryKey, Vector
from coodie.query import QueryState

UTC = dt.timezone.utc


class Post(DocumentBase):
    blog: Annotated[str, PrimaryKey()]
    year: Annotated[int, PrimaryKey(1)]
    at: Annotated[dt.datetime, ClusteringKey(order="DESC")]
    slug: Annotated[str, ClusteringKey(index=1)]
    title: str = ""
    likes: int = 0
    tags: set[str] = Field(default_factory=set)
    meta: dict[str, str] = Field(default_factory=dict)
    embedding: Annotated[list[float], Vector(3)] | None = None

    class Settings:
        name = "posts"
        keyspace = "blog"


class Likes(DocumentBase):
    __coodie_counters__: ClassVar[bool] = True
    post: Annotated[str, PrimaryKey()]
    count: Annotated[int, Counter()] = 0


COLUMNS = '"blog", "year", "at", "slug", "title", "likes", "tags", "meta", "embedding"'


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _select(state: QueryState) -> tuple[str, list[Any]]:
    statement = state.select_statement(keyspace=None)
    return statement.cql, list(statement.values)


# -- filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "value", "where", "bound"),
    [
        ("likes", "3", '"likes" = ?', 3),
        ("likes__eq", 3, '"likes" = ?', 3),
        ("likes__lt", 3, '"likes" < ?', 3),
        ("likes__lte", 3, '"likes" <= ?', 3),
        ("likes__gt", 3, '"likes" > ?', 3),
        ("likes__gte", 3, '"likes" >= ?', 3),
        ("likes__in", (1, "2"), '"likes" IN ?', [1, 2]),
        ("tags__contains", "x", '"tags" CONTAINS ?', "x"),
        ("meta__contains_key", "k", '"meta" CONTAINS KEY ?', "k"),
        ("title__like", "Hello%", '"title" LIKE ?', "Hello%"),
        (
            "at__gte",
            dt.datetime(2024, 1, 1, 0, 0, 0, 1500),
            '"at" >= ?',
            dt.datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
        ),
    ],
)
def test_each_lookup_becomes_a_condition_with_a_converted_value(
    lookup: str, value: Any, where: str, bound: Any
) -> None:
    cql, values = _select(QueryState(Post).filter(**{lookup: value}))

    assert cql == f'SELECT {COLUMNS} FROM "blog"."posts" WHERE {where}'
    assert values == [bound]


def test_filters_accumulate_in_order() -> None:
    state = QueryState(Post).filter(blog="b").filter(year=2024, likes__gt=1)

    cql, values = _select(state)

    assert cql.endswith('WHERE "blog" = ? AND "year" = ? AND "likes" > ?')
    assert values == ["b", 2024, 1]


def test_a_query_state_is_not_changed_by_chaining() -> None:
    base = QueryState(Post)

    base.filter(blog="b").with_options(limit=3)

    assert base.where == ()
    assert base.limit is None


def test_an_unknown_field_names_the_model_and_lists_its_fields() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        QueryState(Post).filter(titel="x")

    message = str(caught.value)
    assert "Post has no field 'titel'" in message
    assert "blog, year, at, slug, title, likes, tags, meta, embedding" in message


@pytest.mark.parametrize("lookup", ["likes__ne", "likes__between", "likes__exact"])
def test_an_unknown_lookup_lists_the_known_ones(lookup: str) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        QueryState(Post).filter(**{lookup: 1})

    message = str(caught.value)
    assert "on Post.likes" in message
    assert "eq, lt, lte, gt, gte, in, contains, contains_key, like" in message


def test_a_value_of_the_wrong_type_names_model_and_field() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        QueryState(Post).filter(likes="many")

    message = str(caught.value)
    assert "Post.likes is compared with 'many'" in message
    assert "pass a int" in message


@pytest.mark.parametrize("value", ["abc", 5, None])
def test_in_takes_a_list(value: Any) -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.likes__in takes a list"):
        QueryState(Post).filter(likes__in=value)


def test_in_validates_each_value() -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.likes is compared with 'x'"):
        QueryState(Post).filter(likes__in=[1, "x"])


def test_contains_needs_a_collection() -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.title is not a collection"):
        QueryState(Post).filter(title__contains="x")


def test_contains_validates_the_element() -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.tags"):
        QueryState(Post).filter(tags__contains=5)


def test_like_takes_a_text_pattern() -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.title__like takes a str"):
        QueryState(Post).filter(title__like=5)


@pytest.mark.parametrize("blog", [None, ""])
def test_a_none_or_empty_partition_key_is_refused(blog: Any) -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.blog"):
        QueryState(Post).filter(blog=blog)


@pytest.mark.parametrize(
    ("lookup", "operator"),
    [("token", "="), ("token__gt", ">"), ("token__gte", ">="), ("token__lt", "<")],
)
def test_token_ranges_cover_the_whole_partition_key(lookup: str, operator: str) -> None:
    cql, values = _select(QueryState(Post).filter(**{lookup: -(2**63)}))

    assert cql.endswith(f'WHERE token("blog", "year") {operator} ?')
    assert values == [-(2**63)]


@pytest.mark.parametrize(
    ("lookup", "value"), [("token__gt", "12"), ("token__gt", 1.5), ("token__in", 1)]
)
def test_bad_token_filters_are_refused(lookup: str, value: Any) -> None:
    with pytest.raises(InvalidQueryError, match="token"):
        QueryState(Post).filter(**{lookup: value})


def test_a_field_called_token_can_be_filtered() -> None:
    class Session(DocumentBase):
        token: Annotated[str, PrimaryKey()]

    cql, values = _select(QueryState(Session).filter(token="abc"))

    assert cql.endswith('WHERE "token" = ?')
    assert values == ["abc"]


# -- options, ordering, projections ----------------------------------------------------


def test_limits_and_fetch_size_are_bound_or_passed() -> None:
    state = (
        QueryState(Post)
        .filter(blog="b", year=1)
        .with_options(limit=10, per_partition_limit=2, fetch_size=50)
        .with_options(allow_filtering=True, consistency="quorum", timeout=2.5)
    )

    statement = state.select_statement(keyspace=None)

    assert statement.cql.endswith(
        'WHERE "blog" = ? AND "year" = ? PER PARTITION LIMIT ? LIMIT ? ALLOW FILTERING'
    )
    assert list(statement.values) == ["b", 1, 2, 10]
    assert statement.fetch_size == 50
    assert statement.consistency == 4
    assert statement.timeout == 2.5
    assert statement.idempotent
    assert state.select_statement(keyspace=None, fetch_size=7).fetch_size == 7


@pytest.mark.parametrize("option", ["limit", "per_partition_limit", "fetch_size"])
@pytest.mark.parametrize("value", [0, -1, True, 2.0, "5"])
def test_limits_must_be_positive_whole_numbers(option: str, value: Any) -> None:
    with pytest.raises(InvalidQueryError, match=f"{option} must be a whole number"):
        QueryState(Post).with_options(**{option: value})


def test_an_unknown_consistency_option_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="unknown consistency level"):
        QueryState(Post).with_options(serial_consistency="SOMETIMES")


def test_distinct_selects_the_partition_keys() -> None:
    cql, _ = _select(QueryState(Post).with_options(distinct=True))

    # DISTINCT may only read the partition key (and static columns).
    assert cql == 'SELECT DISTINCT "blog", "year" FROM "blog"."posts"'


def test_ordering_by_clustering_columns() -> None:
    state = QueryState(Post).filter(blog="b", year=1).ordered("at", "-slug")

    cql, _ = _select(state)

    assert cql.endswith('ORDER BY "at" ASC, "slug" DESC')


def test_ordering_by_another_field_names_the_clustering_columns() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        QueryState(Post).ordered("-likes")

    assert "Post can only be ordered by its clustering columns (at, slug)" in str(
        caught.value
    )


def test_ordering_a_table_without_clustering_columns() -> None:
    with pytest.raises(InvalidQueryError, match="it has none"):
        QueryState(Likes).ordered("post")


def test_a_projection_always_includes_the_primary_key() -> None:
    cql, _ = _select(QueryState(Post).projected("title", "blog"))

    assert cql.startswith('SELECT "title", "blog", "year", "at", "slug" FROM')


@pytest.mark.parametrize("name", ['title" FROM x; --', "users; DROP TABLE x"])
def test_names_that_inject_cql_are_refused_before_any_text(name: str) -> None:
    with pytest.raises(InvalidQueryError, match="Post has no field"):
        QueryState(Post).projected(name)
    with pytest.raises(InvalidQueryError, match="Post has no field"):
        QueryState(Post).ordered(name)
    with pytest.raises(InvalidQueryError, match="Post has no field"):
        QueryState(Post).filter(**{name: 1})


def test_filter_values_never_reach_the_text() -> None:
    hostile = "x' OR 1=1; --"

    cql, values = _select(QueryState(Post).filter(title=hostile))

    assert hostile not in cql
    assert values == [hostile]


# -- similarity search -----------------------------------------------------------------


def test_nearest_orders_by_similarity_with_a_float32_vector() -> None:
    state = QueryState(Post).filter(blog="b").nearest("embedding", [0.1, 0.2, 0.3])

    statement = state.with_options(limit=5).select_statement(keyspace="x")

    assert statement.cql.endswith(
        'WHERE "blog" = ? ORDER BY "embedding" ANN OF ? LIMIT ?'
    )
    assert list(statement.values) == [
        "b",
        [_float32(0.1), _float32(0.2), _float32(0.3)],
        5,
    ]


def test_nearest_needs_a_limit() -> None:
    state = QueryState(Post).nearest("embedding", [0.0, 0.0, 1.0])

    with pytest.raises(InvalidQueryError, match=r"needs \.limit\(k\)"):
        state.select_statement(keyspace=None)


def test_nearest_needs_a_vector_field() -> None:
    with pytest.raises(InvalidQueryError, match=r"Post\.title is not a Vector"):
        QueryState(Post).nearest("title", [1.0])


def test_nearest_cannot_be_combined_with_ordering() -> None:
    state = QueryState(Post).ordered("at").nearest("embedding", [0.0, 0.0, 1.0])

    with pytest.raises(InvalidQueryError, match="ANN OF ordering replaces"):
        state.with_options(limit=1).select_statement(keyspace=None)


def test_a_vector_of_the_wrong_length_is_an_invalid_query() -> None:
    with pytest.raises(CoodieError, match=r"Post\.embedding"):
        QueryState(Post).nearest("embedding", [1.0, 2.0])


# -- aggregates, deletes and updates by filter -----------------------------------------


def test_aggregates_over_the_filtered_rows() -> None:
    state = QueryState(Post).filter(blog="b", year=1)

    count = state.aggregate_statement("count", None, keyspace=None)
    top = state.aggregate_statement("max", "likes", keyspace=None)

    assert count.cql == (
        'SELECT COUNT(*) FROM "blog"."posts" WHERE "blog" = ? AND "year" = ?'
    )
    assert top.cql.startswith('SELECT MAX("likes") FROM')
    assert list(top.values) == ["b", 1]
    assert count.idempotent


def test_delete_by_filter_needs_the_partition_key() -> None:
    with pytest.raises(InvalidQueryError) as caught:
        QueryState(Post).filter(blog="b").delete_statement(keyspace=None)

    assert "Post.find(...).delete() must name the partition key" in str(caught.value)
    assert "add year to the filter" in str(caught.value)


def test_delete_by_filter() -> None:
    state = QueryState(Post).filter(blog="b", year=1)

    plain = state.delete_statement(keyspace=None)
    guarded = state.delete_statement(keyspace=None, title="old")

    assert plain.cql == 'DELETE FROM "blog"."posts" WHERE "blog" = ? AND "year" = ?'
    assert plain.idempotent
    assert guarded.cql.endswith(' IF "title" = ?')
    assert list(guarded.values) == ["b", 1, "old"]
    assert not guarded.idempotent
    assert guarded.conditional


def test_update_by_filter_binds_ttl_changes_where_and_conditions() -> None:
    state = QueryState(Post).filter(blog="b", year=1)

    statement = state.update_statement(
        {"tags__add": ["x"], "likes": 2},
        keyspace=None,
        ttl=10,
        if_conditions={"title": "t"},
    )

    assert statement.cql == (
        'UPDATE "blog"."posts" USING TTL ? SET "tags" = "tags" + ?, "likes" = ? '
        'WHERE "blog" = ? AND "year" = ? IF "title" = ?'
    )
    assert list(statement.values) == [10, {"x"}, 2, "b", 1, "t"]
    assert statement.conditional
    assert not statement.idempotent


def test_update_by_filter_flags_appends_and_counters() -> None:
    class Feed(DocumentBase):
        id: Annotated[int, PrimaryKey()]
        items: list[int] = Field(default_factory=list)

    append = (
        QueryState(Feed)
        .filter(id=1)
        .update_statement({"items__append": [1]}, keyspace=None)
    )
    counter = (
        QueryState(Likes)
        .filter(post="p")
        .update_statement({"count__incr": 1}, keyspace=None)
    )

    assert not append.idempotent
    assert counter.counter
    assert not counter.idempotent
    with pytest.raises(InvalidQueryError, match="must name the partition key"):
        QueryState(Feed).update_statement({"items": [1]}, keyspace=None)


def test_a_read_only_model_cannot_be_changed_by_filter() -> None:
    class PostTitles(DocumentBase):
        __coodie_read_only__: ClassVar[bool] = True
        title: Annotated[str, PrimaryKey()]

    state = QueryState(PostTitles).filter(title="t")

    with pytest.raises(ReadOnlyModelError):
        state.delete_statement(keyspace=None)
    with pytest.raises(ReadOnlyModelError):
        state.update_statement({"title": "u"}, keyspace=None)
