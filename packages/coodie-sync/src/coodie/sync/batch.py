# Generated from packages/coodie-aio/src/coodie/aio/batch.py by scripts/generate_sync.py: do not edit.
# Change the async module and run the script again.
"""Several writes sent as one ``BATCH``."""

from __future__ import annotations

from types import TracebackType
from typing import Literal

from coodie.exceptions import InvalidQueryError
from coodie.statements import Statement, consistency_level
from coodie.sync._driver import Driver
from coodie.sync.connection import get_driver

__all__ = ["BatchQuery"]


class BatchQuery:
    """Collect writes and send them as one batch when the block ends.

    Pass it as ``batch=`` to ``save()``, ``update()``, ``delete()`` and the
    counter methods. A block that raises sends nothing::

        with BatchQuery() as batch:
            user.save(batch=batch)
            profile.save(batch=batch)

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
        self._driver_name = driver
        self._driver: Driver | None = None

    def add(self, statement: Statement, driver: Driver) -> None:
        """Queue a statement; all statements of a batch share one driver.

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

    def execute(self) -> None:
        """Send the queued statements now (the block's end does it for you)."""
        if not self.statements:
            return
        driver = self._driver or get_driver(self._driver_name or "default")
        statements, self.statements = self.statements, []
        driver.execute_batch(
            statements,
            kind=self.kind,
            consistency=self.consistency,
            serial_consistency=self.serial_consistency,
            timeout=self.timeout,
        )

    def __enter__(self) -> BatchQuery:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.execute()
        else:
            self.statements.clear()
