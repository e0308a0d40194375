"""coodie.sync and coodie.aio offer the same names with the same signatures."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

import coodie.aio
import coodie.sync

RENAMED = {"AsyncBatchQuery": "BatchQuery"}


def _public_names(module: Any) -> set[str]:
    return {RENAMED.get(name, name) for name in module.__all__}


def _normalized(signature: inspect.Signature) -> str:
    text = str(signature)
    for async_name, sync_name in RENAMED.items():
        text = text.replace(async_name, sync_name)
    return text.replace("AsyncIterator", "Iterator")


def _members(obj: Any) -> Iterator[tuple[str, Any]]:
    for name, member in inspect.getmembers(obj):
        if name.startswith("_") and name not in ("__aiter__", "__iter__"):
            continue
        if callable(member):
            yield name, member


def _twins() -> list[tuple[str, Any, Any]]:
    pairs = []
    for name in sorted(_public_names(coodie.sync)):
        async_name = {v: k for k, v in RENAMED.items()}.get(name, name)
        pairs.append(
            (name, getattr(coodie.sync, name), getattr(coodie.aio, async_name))
        )
    return pairs


def test_both_doors_export_the_same_names() -> None:
    assert _public_names(coodie.sync) == _public_names(coodie.aio)


@pytest.mark.parametrize(("name", "blocking", "awaitable"), _twins())
def test_each_twin_has_the_same_signature(
    name: str, blocking: Any, awaitable: Any
) -> None:
    if not inspect.isclass(blocking):
        assert _normalized(inspect.signature(blocking)) == _normalized(
            inspect.signature(awaitable)
        )
        return

    sync_members = dict(_members(blocking))
    async_members = dict(_members(awaitable))
    if "__aiter__" in async_members:
        async_members["__iter__"] = async_members.pop("__aiter__")
    assert set(sync_members) == set(async_members), name
    for member_name, sync_member in sync_members.items():
        async_member = async_members[member_name]
        try:
            sync_signature = inspect.signature(sync_member)
        except (TypeError, ValueError):
            continue
        assert _normalized(sync_signature) == _normalized(
            inspect.signature(async_member)
        ), f"{name}.{member_name}"


@pytest.mark.parametrize(
    ("owner", "method"),
    [
        ("Document", "save"),
        ("Document", "insert"),
        ("Document", "update"),
        ("Document", "delete"),
        ("Document", "get"),
        ("Document", "find_one"),
        ("Document", "sync_table"),
        ("CounterDocument", "increment"),
        ("MaterializedView", "sync_view"),
        ("QuerySet", "all"),
        ("QuerySet", "count"),
        ("QuerySet", "create"),
        ("QuerySet", "paged_all"),
        ("BatchQuery", "execute"),
    ],
)
def test_async_twins_are_awaitable_and_sync_ones_are_not(
    owner: str, method: str
) -> None:
    async_owner = getattr(
        coodie.aio, {"BatchQuery": "AsyncBatchQuery"}.get(owner, owner)
    )
    assert inspect.iscoroutinefunction(getattr(async_owner, method))
    assert not inspect.iscoroutinefunction(getattr(getattr(coodie.sync, owner), method))


@pytest.mark.parametrize(
    "function", ["init_coodie", "execute_raw", "create_keyspace", "drop_keyspace"]
)
def test_module_functions_are_awaitable_only_in_aio(function: str) -> None:
    assert inspect.iscoroutinefunction(getattr(coodie.aio, function))
    assert not inspect.iscoroutinefunction(getattr(coodie.sync, function))
