"""coodie's blocking API: the same models and calls as :mod:`coodie.aio`.

Every call waits in the calling thread until the database has answered.
"""

from coodie.results import LWTResult as LWTResult
from coodie.results import PagedResult as PagedResult
from coodie.sync._driver import Driver as Driver
from coodie.sync.batch import BatchQuery as BatchQuery
from coodie.sync.connection import close_coodie as close_coodie
from coodie.sync.connection import create_keyspace as create_keyspace
from coodie.sync.connection import drop_keyspace as drop_keyspace
from coodie.sync.connection import execute_raw as execute_raw
from coodie.sync.connection import get_driver as get_driver
from coodie.sync.connection import init_coodie as init_coodie
from coodie.sync.document import CounterDocument as CounterDocument
from coodie.sync.document import Document as Document
from coodie.sync.document import MaterializedView as MaterializedView
from coodie.sync.migrations import migrate as migrate
from coodie.sync.migrations import migration_status as migration_status
from coodie.sync.migrations import rollback_migrations as rollback_migrations
from coodie.sync.queryset import QuerySet as QuerySet
from coodie.types import UserType as UserType

__all__ = [
    "BatchQuery",
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
