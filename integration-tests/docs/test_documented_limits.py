"""The behaviours docs/limitations.md warns about, written as what users would want.

Each test is a strict xfail: it asserts the behaviour the docs would like to
promise. When a change in coodie makes one pass, the xfail turns into a failure,
and the page that warns about it (named in the reason) needs updating.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from uuid import UUID, uuid4

import pytest
from cassandra.cluster import Session
from cassandra.policies import RoundRobinPolicy
from pydantic import Field

from coodie.exceptions import ClusterConnectionError, UnavailableError
from coodie.fields import PrimaryKey
from coodie.sync import (
    BatchQuery,
    Document,
    UserType,
    close_coodie,
    init_coodie,
)

pytestmark = pytest.mark.cluster


class Ticket(Document):
    id: Annotated[UUID, PrimaryKey()] = Field(default_factory=uuid4)
    state: str = "open"
    labels: list[str] = []

    class Settings:
        name = "tickets"


@pytest.fixture
def driver(cql_session: Session, keyspace: str) -> Iterator[None]:
    init_coodie(session=cql_session, keyspace=keyspace)
    Ticket.sync_table()
    yield
    close_coodie()


def test_a_batched_condition_that_fails_is_reported(driver: None) -> None:
    ticket = Ticket()
    ticket.save()
    with BatchQuery() as batch:
        result = Ticket(id=ticket.id, state="dup").insert(batch=batch)
    assert not result.applied


def test_a_failed_condition_returns_the_real_key(driver: None) -> None:
    ticket = Ticket()
    ticket.save()
    refused = ticket.update(state="closed", if_conditions={"state": "done"})
    assert refused.existing is not None
    assert refused.existing.id == ticket.id


def test_saving_a_partial_document_keeps_unread_collections(driver: None) -> None:
    ticket = Ticket(labels=["bug"])
    ticket.save()
    partial = Ticket.find(id=ticket.id).only("state").first()
    assert partial is not None
    partial.state = "closed"
    partial.save()
    assert Ticket.get(id=ticket.id).labels == ["bug"]


def test_a_query_update_is_sent_at_the_query_consistency(
    cql_session: Session, driver: None
) -> None:
    cql_session.execute(
        "CREATE KEYSPACE IF NOT EXISTS docs_limits_rf3 WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 3}"
    )

    class Replicated(Document):
        id: Annotated[int, PrimaryKey()]
        value: int = 0

        class Settings:
            keyspace = "docs_limits_rf3"

    try:
        Replicated.sync_table()
        nodes = len(cql_session.cluster.metadata.all_hosts())
        if nodes >= 2:
            pytest.skip("QUORUM of RF 3 is reachable: the check needs one node")
        with pytest.raises((UnavailableError, ClusterConnectionError)):
            Replicated.find(id=1).consistency("QUORUM").update(value=1)
    finally:
        cql_session.execute("DROP KEYSPACE IF EXISTS docs_limits_rf3")


def test_a_field_added_to_a_user_type_is_stored(driver: None) -> None:
    class Place(UserType):
        city: str

    class Visit(Document):
        id: Annotated[int, PrimaryKey()]
        place: Place | None = None

    Visit.sync_table()

    class PlaceWithCountry(UserType):
        city: str
        country: str = ""

        class Settings:
            name = "place"

    class VisitAbroad(Document):
        id: Annotated[int, PrimaryKey()]
        place: PlaceWithCountry | None = None

        class Settings:
            name = "visit"

    VisitAbroad.sync_table()
    VisitAbroad(id=1, place=PlaceWithCountry(city="Oslo", country="NO")).save()
    stored = VisitAbroad.get(id=1).place
    assert stored is not None
    assert stored.country == "NO"


def test_cluster_options_take_a_load_balancing_policy(
    cassandra_hosts: list[tuple[str, int]],
) -> None:
    try:
        init_coodie(
            hosts=[host for host, _ in cassandra_hosts],
            port=cassandra_hosts[0][1],
            cluster_options={"load_balancing_policy": RoundRobinPolicy()},
            name="docs_limits_lbp",
        )
    finally:
        close_coodie("docs_limits_lbp")
