"""Logins, TLS and secrets, against a node with ``--auth`` and one with ``--tls``.

The module starts both nodes of its own at once (``127.R.3.1`` requires a login,
``127.R.4.1`` serves CQL over TLS only). The passwords used are random, so that
finding one in a message or a log means it leaked.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import traceback
from collections.abc import Iterator
from typing import Annotated, Any

import pytest

from coodie import aio, sync
from coodie.exceptions import AuthenticationError, ClusterConnectionError
from coodie.fields import PrimaryKey

pytestmark = [pytest.mark.cluster, pytest.mark.reliability]

KEYSPACE = "secure"
APP_ROLE = "coodie_app"
APP_PASSWORD = f"app-{secrets.token_urlsafe(12)}"
WRONG_PASSWORD = f"wrong-{secrets.token_urlsafe(12)}"
SECRET_VALUE = f"value-{secrets.token_urlsafe(12)}"
SUPERUSER = ("cassandra", "cassandra")
CONNECT_TIMEOUT_S = 10.0
NODE_HEAP = "512M"


class AioNote(aio.Document):
    id: Annotated[int, PrimaryKey()]
    text: str = ""

    class Settings:
        name = "notes_aio"


class SyncNote(sync.Document):
    id: Annotated[int, PrimaryKey()]
    text: str = ""

    class Settings:
        name = "notes_sync"


def _leaks(text: str) -> list[str]:
    secrets_shown = (APP_PASSWORD, WRONG_PASSWORD, SECRET_VALUE)
    return [secret for secret in secrets_shown if secret in text]


def _everything_said_by(error: BaseException) -> str:
    """The message, the repr and the traceback of an error and of its causes."""
    return "".join(traceback.format_exception(error)) + repr(error)


# -- the nodes -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def secure_nodes(local_cluster: Any) -> Iterator[tuple[Any, Any]]:
    """The --auth node with an application role, and the --tls node."""
    auth_node = local_cluster("auth", 3, options=("--auth",), heap=NODE_HEAP)
    tls_node = local_cluster("tls", 4, options=("--tls",), heap=NODE_HEAP)
    auth_node.begin_up()
    tls_node.begin_up()
    auth_node.finish_up()
    tls_node.finish_up()

    username, password = SUPERUSER
    sync.init_coodie(
        auth_node.hosts, username=username, password=password, name="superuser"
    )
    try:
        sync.create_keyspace(KEYSPACE, driver="superuser")
        # CREATE ROLE takes the password as a literal only: this statement's text,
        # password included, is logged at DEBUG, so it runs before any capture.
        sync.execute_raw(
            f"CREATE ROLE IF NOT EXISTS {APP_ROLE} "
            f"WITH PASSWORD = '{APP_PASSWORD}' AND LOGIN = true",
            driver="superuser",
        )
        sync.execute_raw(
            f"GRANT ALL PERMISSIONS ON KEYSPACE {KEYSPACE} TO {APP_ROLE}",
            driver="superuser",
        )
    finally:
        sync.close_coodie("superuser")

    yield auth_node, tls_node
    auth_node.down()
    tls_node.down()


@pytest.fixture
def auth_node(secure_nodes: tuple[Any, Any]) -> Any:
    return secure_nodes[0]


@pytest.fixture
def tls_node(secure_nodes: tuple[Any, Any]) -> Any:
    return secure_nodes[1]


def _trusting_context(tls_node: Any) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_node.ca_cert))


# -- async door ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_login_works_and_leaks_nothing(
    auth_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    driver = await aio.init_coodie(
        auth_node.hosts,
        keyspace=KEYSPACE,
        username=APP_ROLE,
        password=APP_PASSWORD,
        connect_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        await AioNote.sync_table()
        await AioNote(id=1, text=SECRET_VALUE).save()
        note = await AioNote.get(id=1)
        shown = repr(driver) + str(driver) + repr(driver.cluster)
        shown += repr(driver.cluster.auth_provider)
    finally:
        await aio.close_coodie()

    assert note.text == SECRET_VALUE
    assert not _leaks(shown)
    assert not _leaks(caplog.text)
    statements = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("coodie") and record.levelno == logging.DEBUG
    ]
    assert any('INSERT INTO "secure"."notes_aio"' in text for text in statements)
    assert any("?" in text for text in statements)


@pytest.mark.anyio
async def test_async_wrong_password_is_an_authentication_error(
    auth_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AuthenticationError) as caught:
        await aio.init_coodie(
            auth_node.hosts,
            username=APP_ROLE,
            password=WRONG_PASSWORD,
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert "password are incorrect" in str(caught.value)
    assert not _leaks(_everything_said_by(caught.value))
    assert not _leaks(caplog.text)


@pytest.mark.anyio
async def test_async_tls_with_the_cluster_ca_works(tls_node: Any) -> None:
    await aio.init_coodie(
        tls_node.hosts,
        keyspace=KEYSPACE,
        ssl_context=_trusting_context(tls_node),
        connect_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        await aio.create_keyspace(KEYSPACE)
        await AioNote.sync_table()
        await AioNote(id=2, text="over tls").save()
        note = await AioNote.get(id=2)
    finally:
        await aio.close_coodie()

    assert note.text == "over tls"


@pytest.mark.anyio
async def test_async_untrusted_certificate_is_a_clear_connection_error(
    tls_node: Any,
) -> None:
    with pytest.raises(ClusterConnectionError) as caught:
        await aio.init_coodie(
            tls_node.hosts,
            ssl_context=ssl.create_default_context(),
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


@pytest.mark.anyio
async def test_async_untrusted_certificate_is_an_authentication_error(
    tls_node: Any,
) -> None:
    with pytest.raises(ClusterConnectionError) as caught:
        await aio.init_coodie(
            tls_node.hosts,
            ssl_context=ssl.create_default_context(),
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert isinstance(caught.value, AuthenticationError)


@pytest.mark.anyio
async def test_async_plain_connection_to_a_tls_node_fails_clearly(
    tls_node: Any,
) -> None:
    with pytest.raises(ClusterConnectionError, match="no node could be reached"):
        await aio.init_coodie(tls_node.hosts, connect_timeout=CONNECT_TIMEOUT_S)


# -- sync door -----------------------------------------------------------------------


def test_sync_login_works_and_leaks_nothing(
    auth_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    driver = sync.init_coodie(
        auth_node.hosts,
        keyspace=KEYSPACE,
        username=APP_ROLE,
        password=APP_PASSWORD,
        connect_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        SyncNote.sync_table()
        SyncNote(id=1, text=SECRET_VALUE).save()
        note = SyncNote.get(id=1)
        shown = repr(driver) + str(driver) + repr(driver.cluster)
        shown += repr(driver.cluster.auth_provider)
    finally:
        sync.close_coodie()

    assert note.text == SECRET_VALUE
    assert not _leaks(shown)
    assert not _leaks(caplog.text)
    statements = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("coodie") and record.levelno == logging.DEBUG
    ]
    assert any('INSERT INTO "secure"."notes_sync"' in text for text in statements)


def test_sync_wrong_password_is_an_authentication_error(
    auth_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AuthenticationError) as caught:
        sync.init_coodie(
            auth_node.hosts,
            username=APP_ROLE,
            password=WRONG_PASSWORD,
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert "password are incorrect" in str(caught.value)
    assert not _leaks(_everything_said_by(caught.value))
    assert not _leaks(caplog.text)


def test_sync_missing_credentials_are_an_authentication_error(auth_node: Any) -> None:
    with pytest.raises(AuthenticationError, match="requires authentication"):
        sync.init_coodie(auth_node.hosts, connect_timeout=CONNECT_TIMEOUT_S)


def test_sync_tls_with_the_cluster_ca_works(tls_node: Any) -> None:
    sync.init_coodie(
        tls_node.hosts,
        keyspace=KEYSPACE,
        ssl_context=_trusting_context(tls_node),
        connect_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        sync.create_keyspace(KEYSPACE)
        SyncNote.sync_table()
        SyncNote(id=2, text="over tls").save()
        note = SyncNote.get(id=2)
    finally:
        sync.close_coodie()

    assert note.text == "over tls"


def test_sync_untrusted_certificate_is_a_clear_connection_error(
    tls_node: Any,
) -> None:
    with pytest.raises(ClusterConnectionError) as caught:
        sync.init_coodie(
            tls_node.hosts,
            ssl_context=ssl.create_default_context(),
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_sync_untrusted_certificate_is_an_authentication_error(tls_node: Any) -> None:
    with pytest.raises(ClusterConnectionError) as caught:
        sync.init_coodie(
            tls_node.hosts,
            ssl_context=ssl.create_default_context(),
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    assert isinstance(caught.value, AuthenticationError)
