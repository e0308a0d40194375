"""The test harness itself: a real node answers, with the features coodie relies on."""

from __future__ import annotations

import time
import uuid

import pytest
from cassandra.cluster import Session

pytestmark = pytest.mark.cluster

VIEW_WAIT_S = 10.0


def test_row_written_is_read_back(cql_session: Session, keyspace: str) -> None:
    cql_session.execute(
        f"CREATE TABLE {keyspace}.people "
        "(id uuid PRIMARY KEY, name text, age int, tags set<text>)"
    )
    person_id = uuid.uuid4()
    insert = cql_session.prepare(
        f"INSERT INTO {keyspace}.people (id, name, age, tags) VALUES (?, ?, ?, ?)"
    )
    cql_session.execute(insert, (person_id, "Ada", 36, {"math", "engines"}))

    row = cql_session.execute(
        f"SELECT id, name, age, tags FROM {keyspace}.people WHERE id = %s",
        (person_id,),
    ).one()

    assert row is not None
    assert row.id == person_id
    assert row.name == "Ada"
    assert row.age == 36
    assert row.tags == {"math", "engines"}


def test_vector_search_with_sai_returns_nearest_first(
    cql_session: Session, keyspace: str
) -> None:
    cql_session.execute(
        f"CREATE TABLE {keyspace}.items "
        "(id int PRIMARY KEY, embedding vector<float, 3>)"
    )
    cql_session.execute(
        f"CREATE INDEX items_embedding ON {keyspace}.items (embedding) USING 'sai'"
    )
    insert = cql_session.prepare(
        f"INSERT INTO {keyspace}.items (id, embedding) VALUES (?, ?)"
    )
    embeddings = {
        1: [1.0, 0.0, 0.0],
        2: [0.9, 0.1, 0.0],
        3: [0.0, 1.0, 0.0],
        4: [0.0, 0.0, 1.0],
    }
    for item_id, embedding in embeddings.items():
        cql_session.execute(insert, (item_id, embedding))

    nearest = cql_session.execute(
        f"SELECT id FROM {keyspace}.items "
        "ORDER BY embedding ANN OF [1.0, 0.05, 0.0] LIMIT 2"
    )

    assert [row.id for row in nearest] == [1, 2]


def test_materialized_view_serves_rows_by_another_key(
    cql_session: Session, keyspace: str
) -> None:
    cql_session.execute(
        f"CREATE TABLE {keyspace}.users (id int PRIMARY KEY, email text, name text)"
    )
    cql_session.execute(
        f"CREATE MATERIALIZED VIEW {keyspace}.users_by_email AS "
        f"SELECT email, id, name FROM {keyspace}.users "
        "WHERE email IS NOT NULL AND id IS NOT NULL "
        "PRIMARY KEY (email, id)"
    )
    cql_session.execute(
        f"INSERT INTO {keyspace}.users (id, email, name) VALUES (7, 'ada@x.org', 'Ada')"
    )

    deadline = time.monotonic() + VIEW_WAIT_S
    row = None
    while row is None and time.monotonic() < deadline:
        row = cql_session.execute(
            f"SELECT id, name FROM {keyspace}.users_by_email WHERE email = 'ada@x.org'"
        ).one()
        if row is None:
            time.sleep(0.2)

    assert row is not None, f"the view showed no row within {VIEW_WAIT_S} s"
    assert (row.id, row.name) == (7, "Ada")
