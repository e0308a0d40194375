"""Bad input at every public entry point: a coodie error, and nothing written.

Each case feeds one wrong thing (a wrong type, a None or empty key part, an unknown
field or operator, a vector of the wrong length, an identifier built to inject CQL,
raw CQL with the wrong number of parameters) to ``save``, ``get``, ``find``,
``update``, ``delete``, ``execute_raw``, ``create_keyspace`` or ``init_coodie``.
The call must raise the named :class:`~coodie.exceptions.CoodieError` subclass with
a message naming the problem, and the table's rows and the schema must be as they
were. The cases run through ``coodie.sync`` and through ``coodie.aio`` on asyncio
and trio, against the shared node (``COODIE_HOSTS``, 127.0.0.1 by default).
"""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Annotated, Any

import pytest
from cassandra.cluster import Session
from pydantic import Field

from coodie import aio, sync
from coodie.exceptions import (
    ClusterConnectionError,
    ConfigurationError,
    CoodieError,
    InvalidQueryError,
)
from coodie.fields import ClusteringKey, Indexed, PrimaryKey, Vector

pytestmark = [pytest.mark.cluster, pytest.mark.reliability]

# Keyspaces a case might create start with this, so that the check can see them
# among the keyspaces other tests make on the shared node.
PROBE = f"bad_{secrets.token_hex(3)}"
PROBE_DRIVER = "bad_input_probe"
UNREACHABLE_HOST = "127.254.254.254"


def _models(door: ModuleType) -> SimpleNamespace:
    """The models of the cases, on one front door's ``Document``."""

    class Item(door.Document):  # type: ignore[name-defined, misc]
        id: Annotated[int, PrimaryKey()]
        seq: Annotated[int, ClusteringKey()] = 0
        name: str = ""
        tags: list[str] = []
        embedding: Annotated[list[float], Vector(3)] | None = None

        class Settings:
            name = "items"

    class Label(door.Document):  # type: ignore[name-defined, misc]
        code: Annotated[str, PrimaryKey()]
        title: str = ""

        class Settings:
            name = "labels"

    return SimpleNamespace(door=door, Item=Item, Label=Label)


AIO = _models(aio)
SYNC = _models(sync)


def _model_named(m: SimpleNamespace, table: str) -> Any:
    class Injected(m.door.Document):  # type: ignore[name-defined, misc]
        id: Annotated[int, PrimaryKey()]

        class Settings:
            name = table

    return Injected.sync_table()


def _model_in_keyspace(m: SimpleNamespace, keyspace_name: str) -> Any:
    class Elsewhere(m.door.Document):  # type: ignore[name-defined, misc]
        id: Annotated[int, PrimaryKey()]

        class Settings:
            name = "elsewhere"
            keyspace = keyspace_name

    return Elsewhere.sync_table()


def _model_with_alias(m: SimpleNamespace, alias: str) -> Any:
    class Aliased(m.door.Document):  # type: ignore[name-defined, misc]
        id: Annotated[int, PrimaryKey()]
        name: str = Field(default="", alias=alias)

        class Settings:
            name = "aliased"

    return Aliased.sync_table()


def _model_with_index(m: SimpleNamespace, index: str) -> Any:
    class NamedIndex(m.door.Document):  # type: ignore[name-defined, misc]
        id: Annotated[int, PrimaryKey()]
        name: Annotated[str, Indexed(name=index)] = ""

        class Settings:
            name = "indexed"

    return NamedIndex.sync_table()


def _mistyped(m: SimpleNamespace, field: str, value: Any) -> Any:
    """An Item holding a value of the wrong type, built without validation."""
    return m.Item.model_construct(**{**m.Item(id=10).model_dump(), field: value})


@dataclass(frozen=True)
class Case:
    """One bad call: what it does, the error expected and words its message holds."""

    action: Callable[[SimpleNamespace, SimpleNamespace], Any]
    error: type[CoodieError]
    message: str


# Cases that fail today, with the reason; each is a strict xfail.
XFAILS: dict[str, str] = {}

CASES: dict[str, Case] = {
    # save
    "save-wrong-type": Case(
        lambda m, at: _mistyped(m, "name", 123).save(),
        InvalidQueryError,
        r"Item\.name",
    ),
    "save-none-partition-key": Case(
        lambda m, at: m.Item.model_construct(id=None, seq=0, name="a").save(),
        InvalidQueryError,
        r"Item\.id .*cannot be None",
    ),
    "save-none-clustering-key": Case(
        lambda m, at: m.Item.model_construct(id=5, seq=None, name="a").save(),
        InvalidQueryError,
        r"Item\.seq .*cannot be None",
    ),
    "save-empty-partition-key": Case(
        lambda m, at: m.Label(code="").save(),
        InvalidQueryError,
        r"Label\.code .*cannot be empty",
    ),
    "save-wrong-length-vector": Case(
        lambda m, at: _mistyped(m, "embedding", [1.0, 2.0]).save(),
        InvalidQueryError,
        "size 3",
    ),
    "save-negative-ttl": Case(
        lambda m, at: m.Item(id=10).save(ttl=-1), InvalidQueryError, "ttl"
    ),
    "save-ttl-as-str": Case(
        lambda m, at: m.Item(id=10).save(ttl="60"), InvalidQueryError, "ttl"
    ),
    "save-float-timestamp": Case(
        lambda m, at: m.Item(id=10).save(timestamp=1.5),
        InvalidQueryError,
        "timestamp",
    ),
    # get
    "get-wrong-type": Case(
        lambda m, at: m.Item.get(id="abc", seq=0), InvalidQueryError, r"Item\.id"
    ),
    "get-none-key": Case(
        lambda m, at: m.Item.get(id=None, seq=0), InvalidQueryError, r"Item\.id"
    ),
    "get-empty-partition-key": Case(
        lambda m, at: m.Label.get(code=""), InvalidQueryError, "cannot be empty"
    ),
    "get-missing-key-part": Case(
        lambda m, at: m.Item.get(id=1), InvalidQueryError, "missing seq"
    ),
    "get-unknown-field": Case(
        lambda m, at: m.Item.get(id=1, seq=0, bogus=1),
        InvalidQueryError,
        "bogus not part of the key",
    ),
    # find
    "find-unknown-field": Case(
        lambda m, at: m.Item.find(bogus=1).all(), InvalidQueryError, "no field 'bogus'"
    ),
    "find-unknown-operator": Case(
        lambda m, at: m.Item.find(id__near=1).all(),
        InvalidQueryError,
        "unknown lookup 'near'",
    ),
    "find-wrong-type": Case(
        lambda m, at: m.Item.find(id="x").all(), InvalidQueryError, r"Item\.id"
    ),
    "find-in-without-a-list": Case(
        lambda m, at: m.Item.find(id__in=5).all(), InvalidQueryError, "list"
    ),
    "find-injected-field": Case(
        lambda m, at: m.Item.find(**{"id = 1 OR 1=1; --": 1}).all(),
        InvalidQueryError,
        "no field",
    ),
    "find-injected-operator": Case(
        lambda m, at: m.Item.find(**{"id__eq ? ; DROP TABLE items; --": 1}).all(),
        InvalidQueryError,
        "unknown lookup",
    ),
    "find-token-as-str": Case(
        lambda m, at: m.Item.find(token__gt="0; DROP TABLE items").all(),
        InvalidQueryError,
        "token",
    ),
    "find-injected-order-by": Case(
        lambda m, at: m.Item.find(id=1).order_by("seq; DROP TABLE items").all(),
        InvalidQueryError,
        "no field",
    ),
    "find-injected-projection": Case(
        lambda m, at: m.Item.find(id=1).only("name FROM items; --").all(),
        InvalidQueryError,
        "no field",
    ),
    "find-wrong-length-vector": Case(
        lambda m, at: m.Item.find().nearest("embedding", [1.0], 3).all(),
        InvalidQueryError,
        "exactly 3 values",
    ),
    "find-zero-limit": Case(
        lambda m, at: m.Item.find().limit(0).all(), InvalidQueryError, "limit"
    ),
    "find-unknown-consistency": Case(
        lambda m, at: m.Item.find().consistency("QUROUM").all(),
        InvalidQueryError,
        "QUROUM",
    ),
    # update
    "update-unknown-field": Case(
        lambda m, at: m.Item(id=1).update(bogus=1), InvalidQueryError, "no field"
    ),
    "update-unknown-operator": Case(
        lambda m, at: m.Item(id=1).update(tags__multiply=["x"]),
        InvalidQueryError,
        "unknown update operator 'multiply'",
    ),
    "update-key-field": Case(
        lambda m, at: m.Item(id=1).update(id=7),
        InvalidQueryError,
        "primary key",
    ),
    "update-wrong-type": Case(
        lambda m, at: m.Item(id=1).update(name=5), InvalidQueryError, r"Item\.name"
    ),
    "update-wrong-length-vector": Case(
        lambda m, at: m.Item(id=1).update(embedding=[1.0]),
        InvalidQueryError,
        "exactly 3 values",
    ),
    "update-without-changes": Case(
        lambda m, at: m.Item(id=1).update(), InvalidQueryError, "needs a change"
    ),
    "update-injected-field": Case(
        lambda m, at: m.Item(id=1).update(**{"name = ?, tags": "x"}),
        InvalidQueryError,
        "no field",
    ),
    "update-append-to-a-str": Case(
        lambda m, at: m.Item(id=1).update(name__append=["x"]),
        InvalidQueryError,
        "not a collection",
    ),
    "update-unknown-if-operator": Case(
        lambda m, at: m.Item(id=1).update(name="z", if_conditions={"name__zz": "a"}),
        InvalidQueryError,
        "unknown IF operator",
    ),
    # delete
    "delete-none-key": Case(
        lambda m, at: m.Item.model_construct(id=None, seq=0).delete(),
        InvalidQueryError,
        r"Item\.id .*cannot be None",
    ),
    "delete-unknown-condition": Case(
        lambda m, at: m.Item(id=1).delete(if_conditions={"bogus": 1}),
        InvalidQueryError,
        "no field",
    ),
    "delete-query-without-partition-key": Case(
        lambda m, at: m.Item.find(name="a").delete(),
        InvalidQueryError,
        "partition key",
    ),
    # execute_raw
    "raw-too-many-params": Case(
        lambda m, at: m.door.execute_raw("SELECT * FROM items WHERE id = ?", [1, 2]),
        InvalidQueryError,
        "Too many arguments",
    ),
    "raw-too-few-params": Case(
        lambda m, at: m.door.execute_raw(
            "INSERT INTO items (id, seq, name) VALUES (?, ?, ?)", [900, 0]
        ),
        InvalidQueryError,
        r"\b2\b.*\b3\b|\b3\b.*\b2\b",
    ),
    "raw-markers-without-params": Case(
        lambda m, at: m.door.execute_raw("SELECT * FROM items WHERE id = ?"),
        InvalidQueryError,
        "bind variables",
    ),
    "raw-params-as-str": Case(
        lambda m, at: m.door.execute_raw("SELECT * FROM items WHERE id = ?", "1"),
        InvalidQueryError,
        "as a list",
    ),
    "raw-params-as-dict": Case(
        lambda m, at: m.door.execute_raw("SELECT * FROM items WHERE id = ?", {"id": 1}),
        InvalidQueryError,
        "as a list",
    ),
    "raw-wrong-param-type": Case(
        lambda m, at: m.door.execute_raw("SELECT * FROM items WHERE id = ?", ["x"]),
        InvalidQueryError,
        '"id"',
    ),
    "raw-not-a-str": Case(
        lambda m, at: m.door.execute_raw(123), InvalidQueryError, "as a str"
    ),
    "raw-syntax-error": Case(
        lambda m, at: m.door.execute_raw("SELEC * FROM items"),
        InvalidQueryError,
        "Syntax error",
    ),
    # keyspaces
    "keyspace-injected-name": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}; DROP KEYSPACE {at.keyspace}"),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "keyspace-quote-in-name": Case(
        lambda m, at: m.door.create_keyspace(f'{PROBE}"x'),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "keyspace-name-too-long": Case(
        lambda m, at: m.door.create_keyspace(PROBE + "k" * 48),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "keyspace-drop-injected-name": Case(
        lambda m, at: m.door.drop_keyspace(
            f"{at.keyspace}; DROP TABLE {at.keyspace}.items"
        ),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "keyspace-rf-zero": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}_rf_zero", 0),
        InvalidQueryError,
        "replication_factor",
    ),
    "keyspace-rf-str": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}_rf_str", "3"),
        InvalidQueryError,
        "replication_factor",
    ),
    "keyspace-rf-none": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}_rf_none", None),
        InvalidQueryError,
        "replication_factor",
    ),
    "keyspace-rf-float": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}_rf_float", 2.5),
        InvalidQueryError,
        "replication_factor",
    ),
    "keyspace-unknown-strategy": Case(
        lambda m, at: m.door.create_keyspace(
            f"{PROBE}_strategy", strategy="Evil'}; DROP KEYSPACE x; --"
        ),
        InvalidQueryError,
        "unknown replication strategy",
    ),
    "keyspace-injected-data-center": Case(
        lambda m, at: m.door.create_keyspace(
            f"{PROBE}_dc",
            strategy="NetworkTopologyStrategy",
            data_centers={f"dc1': 1}}; DROP KEYSPACE {at.keyspace}; --": 1},
        ),
        InvalidQueryError,
        "Unrecognized strategy option",
    ),
    "keyspace-durable-writes-str": Case(
        lambda m, at: m.door.create_keyspace(f"{PROBE}_durable", durable_writes="yes"),
        InvalidQueryError,
        "durable_writes",
    ),
    # identifiers in models
    "model-injected-table-name": Case(
        lambda m, at: _model_named(m, "items; DROP TABLE items"),
        ConfigurationError,
        "not a valid table name",
    ),
    "model-injected-keyspace": Case(
        lambda m, at: _model_in_keyspace(
            m, f'{at.keyspace}"; DROP KEYSPACE {at.keyspace}; --'
        ),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "model-injected-field-alias": Case(
        lambda m, at: _model_with_alias(m, 'name" text); DROP TABLE items; --'),
        ConfigurationError,
        "column name",
    ),
    "model-injected-index-name": Case(
        lambda m, at: _model_with_index(m, "i ON items; DROP TABLE items; --"),
        ConfigurationError,
        "not a valid index name",
    ),
    # init_coodie
    "init-injected-keyspace": Case(
        lambda m, at: m.door.init_coodie(
            [UNREACHABLE_HOST],
            keyspace=f"{at.keyspace}; DROP KEYSPACE {at.keyspace}",
            name=PROBE_DRIVER,
        ),
        ConfigurationError,
        "not a valid keyspace name",
    ),
    "init-hosts-not-a-list": Case(
        lambda m, at: m.door.init_coodie(123, name=PROBE_DRIVER),
        ConfigurationError,
        "hosts",
    ),
    "init-no-hosts": Case(
        lambda m, at: m.door.init_coodie([], name=PROBE_DRIVER),
        ConfigurationError,
        "hosts",
    ),
    "init-unknown-consistency": Case(
        lambda m, at: m.door.init_coodie(
            [UNREACHABLE_HOST], consistency="QUROUM", name=PROBE_DRIVER
        ),
        InvalidQueryError,
        "unknown consistency level 'QUROUM'",
    ),
    "init-zero-timeout": Case(
        lambda m, at: m.door.init_coodie(
            at.hosts, port=at.port, request_timeout=0, name=PROBE_DRIVER
        ),
        ConfigurationError,
        "request_timeout",
    ),
    "init-nothing-listening": Case(
        lambda m, at: m.door.init_coodie(
            [UNREACHABLE_HOST], connect_timeout=2, name=PROBE_DRIVER
        ),
        ClusterConnectionError,
        "no node could be reached",
    ),
}


def _case_params() -> list[Any]:
    return [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=why)]
            if (why := XFAILS.get(name))
            else [],
            id=name,
        )
        for name in CASES
    ]


# -- the database, before and after --------------------------------------------------


def _snapshot(session: Session, keyspace: str) -> dict[str, Any]:
    """The rows of the cases' tables and the schema a case could change."""
    rows = {
        table: sorted(
            repr(tuple(row))
            for row in session.execute(f"SELECT * FROM {keyspace}.{table}")
        )
        for table in ("items", "labels")
    }
    columns = sorted(
        (row.table_name, row.column_name, row.type)
        for row in session.execute(
            "SELECT table_name, column_name, type FROM system_schema.columns "
            "WHERE keyspace_name = %s",
            [keyspace],
        )
    )
    indexes = sorted(
        row.index_name
        for row in session.execute(
            "SELECT index_name FROM system_schema.indexes WHERE keyspace_name = %s",
            [keyspace],
        )
    )
    probes = sorted(
        row.keyspace_name
        for row in session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
        if row.keyspace_name.startswith(PROBE) or row.keyspace_name == keyspace
    )
    return {"rows": rows, "columns": columns, "indexes": indexes, "keyspaces": probes}


def _check(case: Case, error: BaseException | None) -> None:
    assert error is not None, "the call raised nothing"
    assert isinstance(error, case.error), (
        f"expected {case.error.__name__}, got {type(error).__name__}: {error}"
    )
    assert re.search(case.message, str(error)), f"{case.message!r} not in {error}"


@pytest.fixture(scope="module")
def seeded(
    cql_session: Session, keyspace: str, cassandra_hosts: list[tuple[str, int]]
) -> Iterator[SimpleNamespace]:
    """The cases' tables in the module's keyspace with a row each, and the hosts.

    Keyspaces a wrong case created are dropped afterwards.
    """
    sync.init_coodie(session=cql_session, keyspace=keyspace)
    try:
        for model in (SYNC.Item, SYNC.Label):
            model.sync_table()
        SYNC.Item(id=1, seq=0, name="a", tags=["x"]).save()
        SYNC.Label(code="c1", title="first").save()
    finally:
        sync.close_coodie()

    yield SimpleNamespace(
        keyspace=keyspace,
        hosts=[host for host, _ in cassandra_hosts],
        port=cassandra_hosts[0][1],
    )
    for row in cql_session.execute("SELECT keyspace_name FROM system_schema.keyspaces"):
        if row.keyspace_name.startswith(PROBE):
            cql_session.execute(f"DROP KEYSPACE IF EXISTS {row.keyspace_name}")


# -- sync door -----------------------------------------------------------------------


@pytest.fixture
def sync_door(
    cql_session: Session, seeded: SimpleNamespace
) -> Iterator[SimpleNamespace]:
    sync.init_coodie(session=cql_session, keyspace=seeded.keyspace)
    yield seeded
    sync.close_coodie()


@pytest.mark.parametrize("name", _case_params())
def test_sync_bad_input_raises_and_writes_nothing(
    name: str, sync_door: SimpleNamespace, cql_session: Session
) -> None:
    case = CASES[name]
    before = _snapshot(cql_session, sync_door.keyspace)

    error: BaseException | None = None
    try:
        case.action(SYNC, sync_door)
    except Exception as caught:
        error = caught

    after = _snapshot(cql_session, sync_door.keyspace)
    _check(case, error)
    assert after == before, "the database changed"


# -- async door ----------------------------------------------------------------------


@pytest.fixture
async def aio_door(
    cql_session: Session, seeded: SimpleNamespace
) -> AsyncIterator[SimpleNamespace]:
    await aio.init_coodie(session=cql_session, keyspace=seeded.keyspace)
    yield seeded
    await aio.close_coodie()


@pytest.mark.anyio
@pytest.mark.parametrize("name", _case_params())
async def test_async_bad_input_raises_and_writes_nothing(
    name: str, aio_door: SimpleNamespace, cql_session: Session
) -> None:
    case = CASES[name]
    before = _snapshot(cql_session, aio_door.keyspace)

    error: BaseException | None = None
    try:
        outcome = case.action(AIO, aio_door)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception as caught:
        error = caught

    after = _snapshot(cql_session, aio_door.keyspace)
    _check(case, error)
    assert after == before, "the database changed"
