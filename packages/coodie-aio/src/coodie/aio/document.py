"""Documents: Pydantic models stored as rows, with awaitable reads and writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from typing_extensions import Self

from coodie.aio._driver import Driver, call_hook
from coodie.aio.batch import AsyncBatchQuery
from coodie.aio.connection import get_driver
from coodie.aio.queryset import QuerySet
from coodie.cql_builder import (
    create_materialized_view_cql,
    drop_table_cql,
    truncate_cql,
)
from coodie.document import DocumentBase, lwt_result
from coodie.exceptions import (
    ConfigurationError,
    DocumentNotFound,
    InvalidQueryError,
    MultipleDocumentsFound,
)
from coodie.query import QueryState
from coodie.results import LWTResult
from coodie.schema_diff import SchemaDiff, creates_index, diff_table, sync_plan
from coodie.statements import (
    Statement,
    column_metadata_statement,
    consistency_level,
    delete_document_statement,
    get_statement,
    insert_statement,
    save_statement,
    update_document_statement,
)
from coodie.types import user_type_name

__all__ = ["CounterDocument", "Document", "MaterializedView"]

logger = logging.getLogger("coodie.aio")


class Document(DocumentBase):
    """A table row as a Pydantic model.

    Declare fields with the markers of :mod:`coodie.fields`, and the table in an
    inner ``Settings`` class (``name``, ``keyspace``, ``driver``,
    ``default_ttl``, ``table_options``).
    """

    __coodie_abstract__: ClassVar[bool] = True

    # -- where the model lives --------------------------------------------------

    @classmethod
    def _driver(cls) -> Driver:
        name = cls.__dict__.get("_coodie_driver_name")
        if name is None:
            name = cls.settings("driver", "default")
            cls._coodie_driver_name = name  # type: ignore[attr-defined]
        return get_driver(name)

    @classmethod
    def _keyspace(cls) -> str:
        keyspace = cls.table_schema().keyspace or cls._driver().keyspace
        if keyspace is None:
            raise ConfigurationError(
                f"{cls.__name__} has no keyspace: set Settings.keyspace or pass "
                "keyspace= to init_coodie()"
            )
        return keyspace

    @classmethod
    async def _run_write(
        cls,
        statement: Statement,
        batch: AsyncBatchQuery | None,
        consistency: str | int | None = None,
        serial_consistency: str | int | None = None,
        *,
        document: Document | None = None,
        on_applied: Callable[[], None] | None = None,
    ) -> LWTResult[Self]:
        if consistency is not None:
            statement.consistency = consistency_level(consistency)
        if serial_consistency is not None:
            statement.serial_consistency = consistency_level(serial_consistency)
        driver = cls._driver()
        if batch is not None:
            if statement.conditional and batch.kind != "LOGGED":
                raise InvalidQueryError(
                    "conditional writes can only be batched in a LOGGED batch"
                )
            # Filled in, and on_applied run, when the batch is sent.
            pending: LWTResult[Self] = LWTResult(applied=False)
            batch.add(statement, driver, result=pending, on_applied=on_applied)
            return pending
        page = await driver.execute(statement)
        result: LWTResult[Self] = (
            lwt_result(cls, page, document)
            if statement.conditional
            else LWTResult(applied=True)
        )
        if result.applied and on_applied is not None:
            on_applied()
        return result

    # -- schema -----------------------------------------------------------------

    @classmethod
    async def sync_table(
        cls, *, dry_run: bool = False, index_timeout: float = 60.0
    ) -> list[str]:
        """Create the table, its user types and indexes; add missing columns.

        Nothing is ever dropped or retyped: differences that cannot be applied in
        place are logged as warnings and left alone (:meth:`schema_diff` lists
        them). In a class hierarchy stored in one table, the table gets the
        columns of every class defined so far. When it creates an index, it
        waits until the index is built, so that the next query can use it.

        :param dry_run: only return the statements, run nothing.
        :param index_timeout: seconds to wait for new indexes to be built (an
            index over many existing rows takes longer); after that a warning is
            logged and the build goes on in the background. ``0`` waits not at all.
        :returns: the statements run (or, with ``dry_run``, that would run).
        """
        schema = cls.storage_schema()
        keyspace = cls._keyspace()
        driver = cls._driver()
        live = await driver.table_metadata(keyspace, schema.table)
        live_types = await driver.user_types(
            keyspace, [user_type_name(t) for t in schema.user_types]
        )
        statements, diff = sync_plan(schema, live, keyspace, live_types)
        for change in diff.changes:
            if not change.additive:
                logger.warning("%s.%s: %s; left alone", keyspace, schema.table, change)
        if dry_run:
            return statements
        for cql in statements:
            await driver.execute_text(cql)
            logger.info("schema change: %s", cql)
        if index_timeout > 0 and any(creates_index(cql) for cql in statements):
            building = await driver.unbuilt_indexes(
                keyspace, schema.table, index_timeout
            )
            if building:
                logger.warning(
                    "%s.%s: indexes %s still building after %s s; queries that "
                    "use them fail until they are built",
                    keyspace,
                    schema.table,
                    ", ".join(sorted(building)),
                    index_timeout,
                )
        return statements

    @classmethod
    async def schema_diff(cls) -> SchemaDiff:
        """Every difference between the model and its live table."""
        schema = cls.storage_schema()
        keyspace = cls._keyspace()
        driver = cls._driver()
        live = await driver.table_metadata(keyspace, schema.table)
        live_types = await driver.user_types(
            keyspace, [user_type_name(t) for t in schema.user_types]
        )
        return diff_table(schema, live, keyspace, live_types)

    @classmethod
    async def drop_table(cls) -> None:
        """Drop the table and all its rows."""
        await cls._driver().execute_text(
            drop_table_cql(cls.table_schema(), cls._keyspace())
        )

    @classmethod
    async def truncate(cls) -> None:
        """Remove every row of the table."""
        await cls._driver().execute_text(
            truncate_cql(cls.table_schema(), cls._keyspace())
        )

    # -- reading ----------------------------------------------------------------

    @classmethod
    def find(cls, **filters: Any) -> QuerySet[Self]:
        """A query on this model, filtered by ``field=value`` / ``field__op=value``.

        :raises InvalidQueryError: an unknown field or operator, or a wrong value.
        """
        state = QueryState.for_model(cls)
        return QuerySet(state.filter(**filters) if filters else state)

    @classmethod
    async def get(cls, **keys: Any) -> Self:
        """The document with this primary key.

        :raises DocumentNotFound: no row has this key.
        :raises InvalidQueryError: the key is incomplete or of a wrong type.
        """
        statement = get_statement(cls, cls._keyspace(), keys)
        page = await cls._driver().execute(statement)
        documents = cls.from_rows(page.columns, page.rows)
        if not documents:
            shown = ", ".join(f"{name}={value!r}" for name, value in keys.items())
            raise DocumentNotFound(f"no {cls.__name__} with {shown}")
        return documents[0]

    @classmethod
    async def find_one(cls, **filters: Any) -> Self | None:
        """The only document matching ``filters``, or ``None``.

        :raises MultipleDocumentsFound: several documents match.
        """
        documents = await cls.find(**filters).limit(2).all()
        if len(documents) > 1:
            raise MultipleDocumentsFound(
                f"more than one {cls.__name__} matches {filters}; narrow the filter"
            )
        return documents[0] if documents else None

    # -- writing ----------------------------------------------------------------

    async def save(
        self,
        *,
        ttl: int | None = None,
        timestamp: int | None = None,
        consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
    ) -> None:
        """Write the document: whole when new, only what changed when it was read.

        A new document is inserted (an upsert: a row with this key is replaced). A
        document that was read or saved before writes the fields assigned since,
        plus its collection and user-type fields; with nothing to write, nothing is
        sent. The model's ``before_save`` and ``after_save`` hooks run around it.

        :param ttl: seconds until the values expire (the whole document is written).
        :param timestamp: the write time in microseconds since the epoch.
        :param consistency: the consistency level of this write.
        :param batch: queue the write in this batch instead of sending it.
        :raises InvalidQueryError: a key is empty or a value does not fit.
        """
        await call_hook(self, "before_save")
        if batch is not None and timestamp is None:
            timestamp = batch.timestamp
        statement = save_statement(
            self, keyspace=self._keyspace(), ttl=ttl, timestamp=timestamp
        )
        if statement is not None:
            await self._run_write(
                statement, batch, consistency, on_applied=self.mark_stored
            )
        await call_hook(self, "after_save")

    async def insert(
        self,
        *,
        ttl: int | None = None,
        timestamp: int | None = None,
        consistency: str | int | None = None,
        serial_consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
    ) -> LWTResult[Self]:
        """Write the document only if no row has its key (``IF NOT EXISTS``).

        :param serial_consistency: ``SERIAL`` or ``LOCAL_SERIAL`` for the check.
        :returns: ``applied``, and the row that exists already when not applied.
        """
        await call_hook(self, "before_save")
        statement = insert_statement(
            self,
            keyspace=self._keyspace(),
            if_not_exists=True,
            ttl=ttl,
            timestamp=timestamp,
        )
        result = await self._run_write(
            statement,
            batch,
            consistency,
            serial_consistency,
            document=self,
            on_applied=self.mark_stored,
        )
        if result.applied:
            await call_hook(self, "after_save")
        return result

    async def update(
        self,
        *,
        ttl: int | None = None,
        timestamp: int | None = None,
        if_exists: bool = False,
        if_conditions: dict[str, Any] | None = None,
        consistency: str | int | None = None,
        serial_consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
        **changes: Any,
    ) -> LWTResult[Self]:
        """Change some fields of this document's row, and of this document.

        ``changes`` are ``field=value``, or ``field__append`` / ``__prepend`` /
        ``__add`` / ``__remove`` / ``__put`` with a collection, or
        ``field__set_at=(position, element)`` for one element of a list.

        :param if_exists: only if the row exists (a lightweight transaction).
        :param if_conditions: only if these ``field`` / ``field__op`` conditions
            hold (a lightweight transaction).
        :param serial_consistency: ``SERIAL`` or ``LOCAL_SERIAL`` for conditions.
        :raises InvalidQueryError: an unknown field or operator, a key field, or a
            value that does not fit.
        """
        if batch is not None and timestamp is None:
            timestamp = batch.timestamp
        statement = update_document_statement(
            self,
            changes,
            keyspace=self._keyspace(),
            ttl=ttl,
            timestamp=timestamp,
            if_exists=if_exists,
            if_conditions=if_conditions,
        )
        return await self._run_write(
            statement,
            batch,
            consistency,
            serial_consistency,
            document=self,
            on_applied=partial(self._apply_changes, changes),
        )

    async def delete(
        self,
        *,
        if_exists: bool = False,
        if_conditions: dict[str, Any] | None = None,
        timestamp: int | None = None,
        consistency: str | int | None = None,
        serial_consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
    ) -> LWTResult[Self]:
        """Delete this document's row; ``before_delete`` / ``after_delete`` run.

        :param if_exists: only if the row exists (a lightweight transaction).
        :param if_conditions: only if these conditions hold.
        """
        await call_hook(self, "before_delete")
        if batch is not None and timestamp is None:
            timestamp = batch.timestamp
        statement = delete_document_statement(
            self,
            keyspace=self._keyspace(),
            if_exists=if_exists,
            if_conditions=if_conditions,
            timestamp=timestamp,
        )
        result = await self._run_write(
            statement,
            batch,
            consistency,
            serial_consistency,
            document=self,
            on_applied=self.mark_unstored,
        )
        if result.applied:
            await call_hook(self, "after_delete")
        return result

    async def writetime(self, field: str) -> int | None:
        """When ``field`` was last written, in microseconds since the epoch.

        :raises DocumentNotFound: the row does not exist.
        """
        return await self._column_metadata("WRITETIME", field)  # type: ignore[no-any-return]

    async def ttl(self, field: str) -> int | None:
        """Seconds until ``field`` expires, or ``None`` when it does not expire.

        :raises DocumentNotFound: the row does not exist.
        """
        return await self._column_metadata("TTL", field)  # type: ignore[no-any-return]

    async def _column_metadata(self, function: str, field: str) -> Any:
        statement = column_metadata_statement(
            self, function, field, keyspace=self._keyspace()
        )
        page = await self._driver().execute(statement)
        if not page.rows:
            raise DocumentNotFound(
                f"no {type(self).__name__} row with this document's key"
            )
        return page.rows[0][0]


class CounterDocument(Document):
    """A table of counters: keys plus ``Annotated[int, Counter()]`` fields.

    Counters only change by increments; ``save()`` and ``insert()`` are refused.
    """

    __coodie_abstract__: ClassVar[bool] = True
    __coodie_counters__: ClassVar[bool] = True

    async def increment(
        self,
        *,
        consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
        **deltas: int,
    ) -> None:
        """Add ``deltas`` to counters, e.g. ``increment(views=1)``.

        Counter changes are not idempotent: the driver never retries them.
        """
        await self._change_counters("incr", deltas, consistency, batch)

    async def decrement(
        self,
        *,
        consistency: str | int | None = None,
        batch: AsyncBatchQuery | None = None,
        **deltas: int,
    ) -> None:
        """Subtract ``deltas`` from counters, e.g. ``decrement(stock=2)``."""
        await self._change_counters("decr", deltas, consistency, batch)

    async def _change_counters(
        self,
        operator: str,
        deltas: dict[str, int],
        consistency: str | int | None,
        batch: AsyncBatchQuery | None,
    ) -> None:
        changes = {f"{name}__{operator}": delta for name, delta in deltas.items()}
        statement = update_document_statement(self, changes, keyspace=self._keyspace())
        await self._run_write(
            statement,
            batch,
            consistency,
            on_applied=partial(self._apply_changes, changes),
        )


class MaterializedView(Document):
    """A read-only model of a materialized view of another document's table.

    Name the base model in ``Settings.base``; the view's fields are a subset of the
    base's, and its keys are the base's keys rearranged (plus at most one other
    column). Writes through a view raise :class:`~coodie.exceptions.ReadOnlyModelError`.
    """

    __coodie_abstract__: ClassVar[bool] = True
    __coodie_read_only__: ClassVar[bool] = True

    @classmethod
    async def sync_view(cls, *, dry_run: bool = False) -> list[str]:
        """Create the view if it does not exist; returns the statements run.

        :raises ConfigurationError: ``Settings.base`` is missing or not a Document.
        """
        base = cls.settings("base")
        if not (isinstance(base, type) and issubclass(base, Document)):
            raise ConfigurationError(
                f"{cls.__name__}.Settings.base must name the Document class whose "
                "table the view reads"
            )
        cql = create_materialized_view_cql(
            cls.table_schema(), base.table_schema(), cls._keyspace()
        )
        if not dry_run:
            await cls._driver().execute_text(cql)
        return [cql]

    @classmethod
    async def sync_table(
        cls, *, dry_run: bool = False, index_timeout: float = 60.0
    ) -> list[str]:
        """A view has no table of its own: this creates the view.

        A view has no indexes; ``index_timeout`` is accepted for the same call
        as on a table, and unused.
        """
        return await cls.sync_view(dry_run=dry_run)
