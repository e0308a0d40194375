"""Chainable, immutable queries over one model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from coodie.exceptions import InvalidQueryError, MultipleDocumentsFound
from coodie.query import QueryState
from coodie.results import (
    LWTResult,
    PagedResult,
    decode_paging_token,
    encode_paging_token,
)

if TYPE_CHECKING:
    from coodie.aio.batch import AsyncBatchQuery
    from coodie.aio.document import Document

__all__ = ["QuerySet"]

DocumentT = TypeVar("DocumentT", bound="Document")

DEFAULT_PAGE_SIZE = 5000


class QuerySet(Generic[DocumentT]):
    """A query on a model, built by chaining and run by an awaited call.

    Each chained call (``filter``, ``limit``, ``order_by``, ...) returns a new
    QuerySet and leaves this one as it was. Nothing is sent until ``all()``,
    ``first()``, ``count()``, ``paged_all()``, iteration, ``update()`` or
    ``delete()``. Iterating streams: one page (``fetch_size`` rows) is held at a
    time, and the next is fetched only when iteration reaches it.
    """

    __slots__ = ("_state",)

    def __init__(self, state: QueryState) -> None:
        self._state = state

    def __repr__(self) -> str:
        return f"<QuerySet of {self._state.model.__name__}>"

    @property
    def model(self) -> type[DocumentT]:
        """The document class this query returns."""
        return self._state.model  # type: ignore[return-value]

    def _with(self, state: QueryState) -> QuerySet[DocumentT]:
        return QuerySet(state)

    # -- chaining ---------------------------------------------------------------

    def filter(self, **lookups: Any) -> QuerySet[DocumentT]:
        """Add conditions: ``field=value`` or ``field__op=value``.

        Operators: ``eq``, ``lt``, ``lte``, ``gt``, ``gte``, ``in``, ``contains``,
        ``contains_key``, ``like``; ``token__gt=...`` (and the other comparisons)
        restricts the partition key's token.

        :raises InvalidQueryError: unknown field or operator, or a wrong value type.
        """
        return self._with(self._state.filter(**lookups))

    def limit(self, count: int) -> QuerySet[DocumentT]:
        """Return at most ``count`` rows."""
        return self._with(self._state.with_options(limit=count))

    def per_partition_limit(self, count: int) -> QuerySet[DocumentT]:
        """Return at most ``count`` rows of each partition."""
        return self._with(self._state.with_options(per_partition_limit=count))

    def order_by(self, *fields: str) -> QuerySet[DocumentT]:
        """Order by clustering columns; ``"-field"`` sorts descending."""
        return self._with(self._state.ordered(*fields))

    def allow_filtering(self) -> QuerySet[DocumentT]:
        """Let Cassandra scan to filter on columns that are not keys or indexed."""
        return self._with(self._state.with_options(allow_filtering=True))

    def only(self, *fields: str) -> QuerySet[DocumentT]:
        """Read only ``fields`` (and the key); other fields get their defaults."""
        return self._with(self._state.projected(*fields))

    def defer(self, *fields: str) -> QuerySet[DocumentT]:
        """Read every field but ``fields``; those get their defaults."""
        schema = self._state.model.table_schema()
        skipped = {schema.column_for(name).field_name for name in fields}
        kept = [c.field_name for c in schema.columns if c.field_name not in skipped]
        return self._with(self._state.projected(*kept))

    def distinct(self) -> QuerySet[DocumentT]:
        """Return each partition key once (``SELECT DISTINCT``)."""
        return self._with(self._state.with_options(distinct=True))

    def fetch_size(self, rows: int) -> QuerySet[DocumentT]:
        """Fetch ``rows`` rows per page while iterating."""
        return self._with(self._state.with_options(fetch_size=rows))

    def consistency(self, level: str | int) -> QuerySet[DocumentT]:
        """Run at this consistency level (``"QUORUM"``, ``"LOCAL_ONE"``, ...)."""
        return self._with(self._state.with_options(consistency=level))

    def serial_consistency(self, level: str | int) -> QuerySet[DocumentT]:
        """Use this serial consistency for conditional updates and deletes."""
        return self._with(self._state.with_options(serial_consistency=level))

    def timeout(self, seconds: float) -> QuerySet[DocumentT]:
        """Fail with OperationTimedOut when a request takes longer than this."""
        return self._with(self._state.with_options(timeout=seconds))

    def token_range(self, start: int, end: int) -> QuerySet[DocumentT]:
        """Rows whose partition token is in ``(start, end]``, to walk a table."""
        return self._with(self._state.filter(token__gt=start, token__lte=end))

    def nearest(self, field: str, vector: list[float], k: int) -> QuerySet[DocumentT]:
        """The ``k`` rows whose vector ``field`` is most similar (``ANN OF``)."""
        return self._with(self._state.nearest(field, vector).with_options(limit=k))

    # -- running ----------------------------------------------------------------

    def _keyspace(self) -> str:
        return self._state.model._keyspace()  # type: ignore[attr-defined, no-any-return]

    async def _page(
        self, paging_state: bytes | None, page_size: int
    ) -> tuple[list[DocumentT], bytes | None]:
        state = self._state
        statement = state.select_statement(
            keyspace=self._keyspace(), fetch_size=page_size
        )
        statement.paging_state = paging_state
        page = await state.model._driver().execute(statement)  # type: ignore[attr-defined]
        documents = state.model.from_rows(page.columns, page.rows)
        return documents, page.paging_state  # type: ignore[return-value]

    async def all(self) -> list[DocumentT]:
        """Every matching document, all pages fetched."""
        documents: list[DocumentT] = []
        page_size = self._state.fetch_size or DEFAULT_PAGE_SIZE
        paging_state = None
        while True:
            page, paging_state = await self._page(paging_state, page_size)
            documents.extend(page)
            if paging_state is None:
                return documents

    async def first(self) -> DocumentT | None:
        """The first matching document, or ``None``."""
        documents, _ = await self.limit(1)._page(None, 1)
        return documents[0] if documents else None

    async def one(self) -> DocumentT | None:
        """The only matching document, or ``None``.

        :raises MultipleDocumentsFound: more than one document matches.
        """
        documents, _ = await self.limit(2)._page(None, 2)
        if len(documents) > 1:
            raise MultipleDocumentsFound(
                f"more than one {self._state.model.__name__} matches; narrow the "
                "filter or use first()"
            )
        return documents[0] if documents else None

    async def paged_all(
        self, page_token: str | None = None, *, page_size: int | None = None
    ) -> PagedResult[DocumentT]:
        """One page of documents and the token for the next, to resume later.

        :param page_token: ``paging_token`` of the previous page; ``None`` starts.
        :param page_size: rows per page; the query's ``fetch_size`` by default.
        """
        size = page_size or self._state.fetch_size or DEFAULT_PAGE_SIZE
        documents, paging_state = await self._page(
            decode_paging_token(page_token), size
        )
        return PagedResult(documents, encode_paging_token(paging_state))

    def __aiter__(self) -> DocumentStream[DocumentT]:
        return DocumentStream(self, self._state.fetch_size or DEFAULT_PAGE_SIZE)

    async def values_list(self, *fields: str, flat: bool = False) -> list[Any]:
        """The values of ``fields`` of every match, as tuples (or bare with ``flat``).

        :raises InvalidQueryError: ``flat`` with more than one field.
        """
        if flat and len(fields) != 1:
            raise InvalidQueryError("values_list(flat=True) takes exactly one field")
        documents = await self.only(*fields).all()
        if flat:
            return [getattr(document, fields[0]) for document in documents]
        return [
            tuple(getattr(document, name) for name in fields) for document in documents
        ]

    async def json(self) -> list[str]:
        """Every match as a JSON text (``SELECT JSON``), as Cassandra renders it."""
        state = self._state
        statement = state.select_statement(
            keyspace=self._keyspace(),
            fetch_size=state.fetch_size or DEFAULT_PAGE_SIZE,
            json_rows=True,
        )
        driver = state.model._driver()  # type: ignore[attr-defined]
        texts: list[str] = []
        while True:
            page = await driver.execute(statement)
            texts.extend(str(row[0]) for row in page.rows)
            if page.paging_state is None:
                return texts
            statement.paging_state = page.paging_state

    async def count(self) -> int:
        """How many rows match (``SELECT COUNT(*)``)."""
        return int(await self._aggregate("COUNT", None))

    async def min(self, field: str) -> Any:
        """The smallest value of ``field`` among the matches."""
        return await self._aggregate("MIN", field)

    async def max(self, field: str) -> Any:
        """The largest value of ``field`` among the matches."""
        return await self._aggregate("MAX", field)

    async def sum(self, field: str) -> Any:
        """The sum of ``field`` over the matches."""
        return await self._aggregate("SUM", field)

    async def avg(self, field: str) -> Any:
        """The average of ``field`` over the matches (in the column's type)."""
        return await self._aggregate("AVG", field)

    async def _aggregate(self, function: str, field: str | None) -> Any:
        state = self._state
        statement = state.aggregate_statement(
            function, field, keyspace=self._keyspace()
        )
        page = await state.model._driver().execute(statement)  # type: ignore[attr-defined]
        return page.rows[0][0] if page.rows else None

    async def create(self, **values: Any) -> DocumentT:
        """Create a document from ``values`` and save it."""
        document = self._state.model(**values)
        await document.save()  # type: ignore[attr-defined]
        return document  # type: ignore[return-value]

    async def update(
        self,
        *,
        ttl: int | None = None,
        if_exists: bool = False,
        if_conditions: dict[str, Any] | None = None,
        batch: AsyncBatchQuery | None = None,
        **changes: Any,
    ) -> LWTResult[DocumentT]:
        """Update the rows the filter names by their key, without reading them."""
        model = self._state.model
        statement = self._state.update_statement(
            changes,
            keyspace=self._keyspace(),
            ttl=ttl,
            if_exists=if_exists,
            if_conditions=if_conditions,
        )
        return await model._run_write(statement, batch)  # type: ignore[attr-defined, no-any-return]

    async def delete(
        self,
        *,
        if_exists: bool = False,
        batch: AsyncBatchQuery | None = None,
        **if_conditions: Any,
    ) -> LWTResult[DocumentT]:
        """Delete the rows the filter names (a partition, or a clustering range)."""
        model = self._state.model
        statement = self._state.delete_statement(
            keyspace=self._keyspace(), if_exists=if_exists, **if_conditions
        )
        return await model._run_write(statement, batch)  # type: ignore[attr-defined, no-any-return]


class DocumentStream(Generic[DocumentT]):
    """Iterates a query's documents, fetching the next page only when it is reached.

    It holds one page at a time. Stopping early (``break``) leaves the remaining
    pages unfetched, and there is nothing to close.
    """

    def __init__(self, queryset: QuerySet[DocumentT], page_size: int) -> None:
        self._queryset = queryset
        self._page_size = page_size
        self._documents: Iterator[DocumentT] = iter(())
        self._paging_state: bytes | None = None
        self._exhausted = False

    def __aiter__(self) -> DocumentStream[DocumentT]:
        return self

    async def __anext__(self) -> DocumentT:
        while True:
            document = next(self._documents, None)
            if document is not None:
                return document
            if self._exhausted:
                raise StopAsyncIteration
            page, self._paging_state = await self._queryset._page(
                self._paging_state, self._page_size
            )
            self._documents = iter(page)
            self._exhausted = self._paging_state is None
