"""Everything a Cassandra schema uses, through the document API, on the real node.

Written once for ``coodie.aio``; ``scripts/generate_sync.py`` derives the
``coodie.sync`` twin. The async tests run on asyncio and on trio.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from coodie.aio import (
    AsyncBatchQuery,
    CounterDocument,
    Document,
    Driver,
    MaterializedView,
    UserType,
    execute_raw,
)
from coodie.exceptions import (
    DocumentNotFound,
    InvalidQueryError,
    ReadOnlyModelError,
)
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

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


class Reading(Document):
    site: Annotated[str, PrimaryKey(0)]
    day: Annotated[date, PrimaryKey(1)]
    sensor: Annotated[str, ClusteringKey(index=0)]
    minute: Annotated[int, ClusteringKey(order="DESC", index=1)]
    site_label: Annotated[str, Static()] = ""
    value: float = 0.0

    class Settings:
        name = "readings"


class Address(UserType):
    city: str
    lines: list[str] = []


class Profile(Document):
    id: Annotated[uuid.UUID, PrimaryKey()] = Field(default_factory=uuid.uuid4)
    name: str = ""
    tags: list[str] = []
    roles: set[str] = set()
    prefs: dict[str, int] = {}
    history: list[Annotated[list[int], Frozen()]] = []
    point: tuple[int, int] | None = None
    home: Address | None = None
    events: ClassVar[list[str]] = []

    class Settings:
        name = "profiles"

    def before_save(self) -> None:
        type(self).events.append(f"before_save {self.name}")

    def after_save(self) -> None:
        type(self).events.append(f"after_save {self.name}")

    def after_delete(self) -> None:
        type(self).events.append(f"after_delete {self.name}")


class PageViews(CounterDocument):
    page: Annotated[str, PrimaryKey()]
    views: Annotated[int, Counter()] = 0
    likes: Annotated[int, Counter()] = 0

    class Settings:
        name = "page_views"


class Session(Document):
    id: Annotated[str, PrimaryKey()]
    user: str

    class Settings:
        name = "sessions"
        default_ttl = 3600


class Article(Document):
    id: Annotated[int, PrimaryKey()]
    title: Annotated[str, Indexed(kind="sasi", options={"mode": "CONTAINS"})]
    author: Annotated[str, Indexed()]
    embedding: Annotated[list[float], Vector(3)]

    class Settings:
        name = "articles"


class ArticleByAuthor(MaterializedView):
    author: Annotated[str, PrimaryKey()]
    id: Annotated[int, ClusteringKey()]
    title: str

    class Settings:
        name = "articles_by_author"
        base = Article


class Pet(Document):
    id: Annotated[int, PrimaryKey()]
    kind: Annotated[str, Discriminator()] = ""
    name: str

    class Settings:
        name = "pets"


class Cat(Pet):
    lives: int = 9

    class Settings:
        discriminator = "cat"


class Dog(Pet):
    good: bool = True

    class Settings:
        discriminator = "dog"


class Kitten(Cat):
    toy: str

    class Settings:
        discriminator = "kitten"


MODELS: list[Any] = [Reading, Profile, PageViews, Session, Article, Pet]


@pytest.fixture
async def tables(coodie_driver: Driver) -> Driver:
    for model in MODELS:
        await model.sync_table()
        await model.truncate()
    await ArticleByAuthor.sync_view()
    Profile.events.clear()
    return coodie_driver


async def test_composite_keys_clustering_order_ranges_and_static(
    tables: Driver,
) -> None:
    day = date(2024, 5, 1)
    for sensor in ("a", "b"):
        for minute in range(5):
            await Reading(
                site="north", day=day, sensor=sensor, minute=minute, value=minute
            ).save()
    await Reading(
        site="north", day=day, sensor="a", minute=0, site_label="North site"
    ).save()

    partition = Reading.find(site="north", day=day)
    rows = await partition.filter(sensor="a").all()
    assert [r.minute for r in rows] == [4, 3, 2, 1, 0], "minute sorts DESC"
    ranged = await partition.filter(sensor="a", minute__gte=1, minute__lt=4).all()
    assert [r.minute for r in ranged] == [3, 2, 1]
    assert {r.site_label for r in await partition.all()} == {"North site"}
    assert await partition.count() == 10
    assert len(await partition.per_partition_limit(3).all()) == 3


async def test_token_ranges_walk_the_whole_table(tables: Driver) -> None:
    for number in range(40):
        await Session(id=f"s{number}", user=f"u{number}").save()

    # No key hashes to the minimum token, so (min, ...] ranges miss nothing.
    edges = [-(2**63), -(2**62), 0, 2**62, 2**63 - 1]
    seen: list[str] = []
    for start, end in itertools.pairwise(edges):
        seen.extend(s.id for s in await Session.find().token_range(start, end).all())
    assert sorted(seen) == sorted(f"s{number}" for number in range(40))


async def test_partial_collection_updates(tables: Driver) -> None:
    profile = Profile(
        name="ann",
        tags=["b"],
        roles={"reader"},
        prefs={"size": 1},
        history=[[1, 2]],
        point=(3, 4),
        home=Address(city="Oslo", lines=["Main St"]),
    )
    await profile.save()

    await profile.update(tags__append=["c"], roles__add={"writer"})
    await profile.update(tags__prepend=["a"], prefs__put={"font": 2})
    await profile.update(roles__remove={"reader"}, prefs__remove=["size"])
    await profile.update(tags__set_at=(1, "B"))

    stored = await Profile.get(id=profile.id)
    assert stored.tags == ["a", "B", "c"]
    assert stored.roles == {"writer"}
    assert stored.prefs == {"font": 2}
    assert stored.history == [[1, 2]]
    assert stored.point == (3, 4)
    assert stored.home == Address(city="Oslo", lines=["Main St"])
    assert stored == profile, "the document mirrors each applied update"


async def test_save_writes_only_what_changed_and_runs_hooks(tables: Driver) -> None:
    profile = Profile(name="bo", tags=["x"])
    await profile.save(timestamp=1_000)

    loaded = await Profile.get(id=profile.id)
    loaded.name = "bob"
    await loaded.save()

    assert await loaded.writetime("name") != 1_000, "the assigned field was written"
    assert await loaded.writetime("point") is None
    stored = await Profile.get(id=profile.id)
    assert stored.name == "bob"
    assert stored.tags == ["x"]

    await stored.delete()
    assert Profile.events == [
        "before_save bo",
        "after_save bo",
        "before_save bob",
        "after_save bob",
        "after_delete bob",
    ]


async def test_unchanged_loaded_document_sends_nothing(tables: Driver) -> None:
    session = Session(id="keep", user="u")
    await session.save(timestamp=5_000)
    loaded = await Session.get(id="keep")
    await loaded.save()
    assert await loaded.writetime("user") == 5_000


async def test_counters_change_by_increments_only(tables: Driver) -> None:
    views = PageViews(page="home")
    await views.increment(views=3, likes=1)
    await views.decrement(views=1)
    assert views.views == 2

    async with AsyncBatchQuery(kind="COUNTER") as batch:
        await views.increment(views=10, batch=batch)
        await PageViews(page="about").increment(views=1, batch=batch)

    stored = await PageViews.get(page="home")
    assert (stored.views, stored.likes) == (12, 1)
    assert (await PageViews.get(page="about")).views == 1
    with pytest.raises(InvalidQueryError, match="counter"):
        await PageViews(page="x", views=5).save()
    with pytest.raises(InvalidQueryError, match="counter"):
        await views.update(views=5)


async def test_lightweight_transactions(tables: Driver) -> None:
    first = Session(id="lwt", user="first")
    created = await first.insert(serial_consistency="LOCAL_SERIAL")
    assert created.applied

    clash = await Session(id="lwt", user="second").insert()
    assert not clash.applied
    assert clash.existing is not None
    assert clash.existing.user == "first"

    refused = await first.update(user="third", if_conditions={"user": "nobody"})
    assert not refused.applied
    assert refused.existing is not None
    assert refused.existing.user == "first"
    assert (await first.update(user="third", if_conditions={"user": "first"})).applied
    assert (await Session.get(id="lwt")).user == "third"

    assert (await first.delete(if_exists=True)).applied
    assert not (await first.delete(if_exists=True)).applied
    with pytest.raises(DocumentNotFound):
        await Session.get(id="lwt")


async def test_ttl_timestamps_and_default_ttl(tables: Driver) -> None:
    session = Session(id="ttl", user="u")
    await session.save()
    default_ttl = await session.ttl("user")
    assert default_ttl is not None
    assert 3500 < default_ttl <= 3600

    await session.save(ttl=60)
    ttl = await session.ttl("user")
    assert ttl is not None
    assert 0 < ttl <= 60

    await session.update(user="v", ttl=1000)
    ttl = await session.ttl("user")
    assert ttl is not None
    assert 900 < ttl <= 1000

    dated = Session(id="dated", user="u")
    await dated.save(timestamp=1_700_000_000_000_000)
    assert await dated.writetime("user") == 1_700_000_000_000_000
    # A write with an older timestamp loses to the newer one already stored.
    await Session(id="dated", user="older").save(timestamp=1_600_000_000_000_000)
    assert (await Session.get(id="dated")).user == "u"


async def test_indexes_like_and_vector_search(tables: Driver) -> None:
    await Article(
        id=1, title="Cassandra tuning", author="ann", embedding=[1, 0, 0]
    ).save()
    await Article(id=2, title="Python typing", author="bob", embedding=[0, 1, 0]).save()
    await Article(
        id=3, title="Typing Cassandra", author="ann", embedding=[0.9, 0.1, 0]
    ).save()

    by_author = await Article.find(author="ann").all()
    assert sorted(a.id for a in by_author) == [1, 3]
    liked = await Article.find(title__like="%Cassandra%").all()
    assert sorted(a.id for a in liked) == [1, 3]

    nearest = await Article.find().nearest("embedding", [1.0, 0.0, 0.0], k=2).all()
    assert [a.id for a in nearest] == [1, 3]
    with pytest.raises(InvalidQueryError, match=r"Article\.embedding"):
        Article.find().nearest("embedding", [1.0, 0.0], k=2)


class Parcel(Document):
    id: Annotated[int, PrimaryKey()]
    city: str = ""

    class Settings:
        name = "parcels"


class IndexedParcel(Document):
    """The same table, once its model gains an index."""

    id: Annotated[int, PrimaryKey()]
    city: Annotated[str, Indexed()] = ""

    class Settings:
        name = "parcels"


async def test_sync_table_returns_once_its_new_index_answers(
    coodie_driver: Driver,
) -> None:
    await execute_raw("DROP TABLE IF EXISTS parcels")
    await Parcel.sync_table()
    for start in range(0, 2_000, 100):
        async with AsyncBatchQuery(kind="UNLOGGED") as batch:
            for number in range(start, start + 100):
                city = "Oslo" if number % 4 == 0 else "Bergen"
                await Parcel(id=number, city=city).save(batch=batch)

    statements = await IndexedParcel.sync_table()

    assert [cql for cql in statements if cql.startswith("CREATE INDEX")]
    # Straight away: the index over the existing rows answers.
    assert await IndexedParcel.find(city="Oslo").count() == 500


async def test_materialized_view_reads_and_refuses_writes(tables: Driver) -> None:
    await Article(id=7, title="Views", author="cy", embedding=[0, 0, 1]).save()
    rows: list[ArticleByAuthor] = []
    for _ in range(50):  # a view is updated asynchronously
        rows = await ArticleByAuthor.find(author="cy").all()
        if rows:
            break
    assert [(r.author, r.id, r.title) for r in rows] == [("cy", 7, "Views")]
    with pytest.raises(ReadOnlyModelError):
        await ArticleByAuthor(author="cy", id=8, title="no").save()


async def test_class_hierarchy_in_one_table(tables: Driver) -> None:
    await Cat(id=1, name="Tom", lives=7).save()
    await Dog(id=2, name="Rex").save()
    await Cat(id=3, name="Kit").save()

    everyone = sorted(await Pet.find().all(), key=lambda pet: pet.id)
    assert [type(pet) for pet in everyone] == [Cat, Dog, Cat]
    assert everyone[0] == Cat(id=1, name="Tom", lives=7)
    assert everyone[0].kind == "cat"

    assert sorted(cat.name for cat in await Cat.find().all()) == ["Kit", "Tom"]
    assert [dog.name for dog in await Dog.find().all()] == ["Rex"]
    assert await Cat.find().count() == 2
    assert isinstance(await Pet.get(id=2), Dog)
    with pytest.raises(DocumentNotFound):
        await Cat.get(id=2)

    # A document of the root class itself, and one of a class two levels down,
    # read back whole through every class above it.
    await Pet(id=4, name="Nameless").save()
    await Kitten(id=5, name="Bit", toy="yarn").save()
    assert await Pet.get(id=4) == Pet(id=4, name="Nameless")
    kitten = Kitten(id=5, name="Bit", toy="yarn")
    assert await Pet.get(id=5) == kitten
    assert await Cat.get(id=5) == kitten
    assert sorted(cat.id for cat in await Cat.find().all()) == [1, 3, 5]


async def test_projections_aggregates_json_and_options(tables: Driver) -> None:
    for number in range(5):
        await Session(id=f"p{number}", user=f"user{number}").save()

    only = await Session.find(id="p1").only("id").all()
    assert only[0].id == "p1"
    deferred = await Session.find(id="p2").defer("user").all()
    assert deferred[0].id == "p2"
    assert sorted(await Session.find().values_list("id", flat=True)) == [
        f"p{n}" for n in range(5)
    ]
    assert len(await Session.find().distinct().all()) == 5
    assert await Session.find().consistency("ONE").timeout(5).count() == 5

    texts = await Session.find(id="p3").json()
    assert [json.loads(text) for text in texts] == [{"id": "p3", "user": "user3"}]

    await Session.truncate()
    assert await Session.find().count() == 0


async def test_aggregates(tables: Driver) -> None:
    day = date(2024, 1, 1)
    for minute in range(4):
        await Reading(site="s", day=day, sensor="a", minute=minute, value=minute).save()
    partition = Reading.find(site="s", day=day)
    assert await partition.max("value") == 3.0
    assert await partition.min("value") == 0.0
    assert await partition.sum("value") == 6.0
    assert await partition.avg("value") == 1.5
