"""coodie's async API: the same models and calls as :mod:`coodie.sync`, awaited.

Runs on AnyIO, so under asyncio and trio alike.
"""

from coodie.aio._driver import Driver as Driver
from coodie.aio.batch import AsyncBatchQuery as AsyncBatchQuery
from coodie.aio.connection import close_coodie as close_coodie
from coodie.aio.connection import create_keyspace as create_keyspace
from coodie.aio.connection import drop_keyspace as drop_keyspace
from coodie.aio.connection import execute_raw as execute_raw
from coodie.aio.connection import get_driver as get_driver
from coodie.aio.connection import init_coodie as init_coodie
from coodie.aio.document import CounterDocument as CounterDocument
from coodie.aio.document import Document as Document
from coodie.aio.document import MaterializedView as MaterializedView
from coodie.aio.migrations import migrate as migrate
from coodie.aio.migrations import migration_status as migration_status
from coodie.aio.migrations import rollback_migrations as rollback_migrations
from coodie.aio.queryset import QuerySet as QuerySet
from coodie.results import LWTResult as LWTResult
from coodie.results import PagedResult as PagedResult
from coodie.types import UserType as UserType

__all__ = [
    "AsyncBatchQuery",
    "CounterDocument",
    "Document",
    "Driver",
    "LWTResult",
    "MaterializedView",
    "PagedResult",
    "QuerySet",
    "UserType",
    "close_coodie",
    "create_keyspace",
    "drop_keyspace",
    "execute_raw",
    "get_driver",
    "init_coodie",
    "migrate",
    "migration_status",
    "rollback_migrations",
]
