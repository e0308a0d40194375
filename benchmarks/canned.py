"""The client's own cost per operation: the node replaced by canned answers.

A :class:`CannedSession` takes the place of the driver session of the raw and the
coodie contenders. It binds each statement as the driver does, then answers at
once with the rows the node would return (one user, a partition, a count, an
applied LWT), turned into rows by the caller's row factory. What is left to time
is the library's own work per operation, without the node, the network and the
driver's IO thread, and so with little noise; profiled this way, coodie's
functions are not mixed with the driver's (compiled) request path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.query import BoundStatement, PreparedStatement, named_tuple_factory
from workload import (
    ITERATE_SENSOR,
    READING_COLUMNS,
    USER_COLUMNS,
    Sizes,
    reading_fields,
    user_pool_fields,
)

import coodie.aio
import coodie.sync

PAGE_SIZE = 5000
WHOLE_RESULT = b"whole result"


class CannedResult(list[Any]):
    """A result set: rows, column names and the next page's paging state."""

    def __init__(
        self, columns: Sequence[str], rows: list[Any], paging_state: bytes | None
    ) -> None:
        super().__init__(rows)
        self.column_names = list(columns)
        self.current_rows = rows
        self.paging_state = paging_state
        self.has_more_pages = paging_state is not None

    def one(self) -> Any:
        """The first row, or ``None``."""
        return self[0] if self else None

    @property
    def was_applied(self) -> bool:
        """Whether a conditional write was applied (always, here)."""
        return bool(self[0][0]) if self else True


class CannedFuture:
    """A request whose answer is already there: callbacks run at once."""

    def __init__(self, result: CannedResult) -> None:
        self._result = result

    def add_callbacks(
        self, callback: Callable[[Any], object], errback: Callable[[Any], object]
    ) -> None:
        """Call ``callback`` now, as the driver does for a finished request."""
        callback(self._result.current_rows)

    def result(self) -> CannedResult:
        """The answer."""
        return self._result


class CannedSession:
    """Stands in for a driver session and answers like the benchmark's node."""

    def __init__(self, sizes: Sizes) -> None:
        users = user_pool_fields([uuid.UUID(int=1, version=4)])
        self.user_rows = [tuple(users[0][name] for name in USER_COLUMNS)]
        self.partition_rows = _reading_rows("partition", sizes.partition_rows)
        self.iterate_rows = _reading_rows(ITERATE_SENSOR, sizes.iterate_rows)

    def execute(
        self,
        query: Any,
        parameters: Any = None,
        timeout: Any = None,
        *,
        execution_profile: Any = EXEC_PROFILE_DEFAULT,
        paging_state: bytes | None = WHOLE_RESULT,
        **options: Any,
    ) -> CannedResult:
        """Bind ``query`` as the driver would and answer with canned rows.

        A caller that pages (passes ``paging_state``) gets one page at a time; one
        that iterates the driver's result set, which pages by itself, gets all.
        """
        statement = (
            query.bind(parameters) if isinstance(query, PreparedStatement) else query
        )
        columns, rows, next_page = self._rows(statement, paging_state)
        if execution_profile == EXEC_PROFILE_DEFAULT and columns:
            rows = named_tuple_factory(columns, rows)
        return CannedResult(columns, rows, next_page)

    def execute_async(self, *args: Any, **kwargs: Any) -> CannedFuture:
        """:meth:`execute`, answered as a finished request."""
        return CannedFuture(self.execute(*args, **kwargs))

    def _rows(
        self, statement: Any, paging_state: bytes | None
    ) -> tuple[tuple[str, ...], list[Any], bytes | None]:
        if not isinstance(statement, BoundStatement):
            return (), [], None
        text = statement.prepared_statement.query_string.upper()
        if "IF NOT EXISTS" in text:
            return ("[applied]",), [(True,)], None
        if not text.startswith("SELECT"):
            return (), [], None
        if "COUNT(" in text:
            return ("count",), [(len(self.partition_rows),)], None
        if "USERS" in text:
            return USER_COLUMNS, list(self.user_rows), None
        if ITERATE_SENSOR.encode() not in statement.values:
            return READING_COLUMNS, list(self.partition_rows), None
        if paging_state == WHOLE_RESULT:
            return READING_COLUMNS, list(self.iterate_rows), None
        start = int(paging_state or b"0")
        end = start + PAGE_SIZE
        next_page = str(end).encode() if end < len(self.iterate_rows) else None
        return READING_COLUMNS, self.iterate_rows[start:end], next_page


def _reading_rows(sensor: str, count: int) -> list[tuple[Any, ...]]:
    return [
        tuple(fields[name] for name in READING_COLUMNS)
        for fields in reading_fields(sensor, count)
    ]


@contextmanager
def canned_coodie(session: CannedSession) -> Iterator[None]:
    """Give both coodie drivers the canned session for a while."""
    drivers: list[Any] = [coodie.sync.get_driver(), coodie.aio.get_driver()]
    sessions = [driver.session for driver in drivers]
    for driver in drivers:
        driver.session = session
    try:
        yield
    finally:
        for driver, original in zip(drivers, sessions, strict=True):
            driver.session = original
