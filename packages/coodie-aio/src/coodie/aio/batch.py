"""Several writes sent as one ``BATCH``."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

from coodie.aio._driver import Driver
from coodie.aio.connection import get_driver
from coodie.exceptions import InvalidQueryError
from coodie.results import LWTResult
from coodie.statements import Statement, consistency_level

__all__ = ["AsyncBatchQuery"]


class AsyncBatchQuery:
    """Collect writes and send them as one batch when the block ends.

    Pass it as ``batch=`` to ``save()``, ``update()``, ``delete()`` and the
    counter methods. A block that raises sends nothing::

        async with AsyncBatchQuery() as batch:
            await user.save(batch=batch)
            await profile.save(batch=batch)

    :param kind: ``"LOGGED"`` (atomic), ``"UNLOGGED"`` or ``"COUNTER"``.
    :param timestamp: a write time in microseconds for every statement.
    :param driver: the name of the driver to send through; every model in the
        batch must use it.
    """

    def __init__(
        self,
        kind: Literal["LOGGED", "UNLOGGED", "COUNTER"] = "LOGGED",
        *,
        timestamp: int | None = None,
        consistency: str | int | None = None,
        serial_consistency: str | int | None = None,
        timeout: float | None = None,
        driver: str | None = None,
    ) -> None:
        if kind not in ("LOGGED", "UNLOGGED", "COUNTER"):
            raise InvalidQueryError(
                f"unknown batch kind {kind!r}; use LOGGED, UNLOGGED or COUNTER"
            )
        self.kind = kind
        self.timestamp = timestamp
        self.consistency = consistency_level(consistency)
        self.serial_consistency = consistency_level(serial_consistency)
        self.timeout = timeout
        self.statements: list[Statement] = []
        self.applied: bool | None = None
        self._outcomes: list[
            tuple[LWTResult[Any] | None, Callable[[], None] | None]
        ] = []
        self._driver_name = driver
        self._driver: Driver | None = None

    def add(
        self,
        statement: Statement,
        driver: Driver,
        *,
        result: LWTResult[Any] | None = None,
        on_applied: Callable[[], None] | None = None,
    ) -> None:
        """Queue a statement; all statements of a batch share one driver.

        ``result`` is filled in when the batch is sent, and ``on_applied`` runs
        then if the batch was applied.

        :raises InvalidQueryError: the statement needs another driver, or its kind
            does not fit the batch (counters in a COUNTER batch only).
        """
        if self._driver is None:
            self._driver = (
                get_driver(self._driver_name) if self._driver_name else driver
            )
        if driver is not self._driver:
            raise InvalidQueryError(
                f"a batch goes through one driver; this statement uses driver "
                f"{driver.name!r} but the batch uses {self._driver.name!r}"
            )
        if statement.counter != (self.kind == "COUNTER"):
            raise InvalidQueryError(
                "counter changes go in a COUNTER batch, and only there; create it "
                "with kind='COUNTER'"
            )
        self.statements.append(statement)
        self._outcomes.append((result, on_applied))

    async def execute(self) -> bool:
        """Send the queued statements now (the block's end does it for you).

        :returns: whether the batch was applied: ``False`` only when it held
            conditional writes and a condition did not hold (then none applied).
        """
        if not self.statements:
            return True
        driver = self._driver or get_driver(self._driver_name or "default")
        statements, self.statements = self.statements, []
        outcomes, self._outcomes = self._outcomes, []
        page = await driver.execute_batch(
            statements,
            kind=self.kind,
            consistency=self.consistency,
            serial_consistency=self.serial_consistency,
            timeout=self.timeout,
        )
        conditional = any(statement.conditional for statement in statements)
        applied = bool(page.rows[0][0]) if conditional and page.rows else True
        self.applied = applied
        for result, on_applied in outcomes:
            if result is not None:
                object.__setattr__(result, "applied", applied)
            if applied and on_applied is not None:
                on_applied()
        return applied

    async def __aenter__(self) -> AsyncBatchQuery:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.execute()
        else:
            self.statements.clear()
            self._outcomes.clear()
