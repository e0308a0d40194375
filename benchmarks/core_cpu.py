"""CPU cost of coodie-core's hot paths, with no database: run it anywhere.

    uv run python benchmarks/core_cpu.py

It times building and binding an INSERT, building a get-by-key SELECT, and turning
100,000 plain rows (as the driver returns them) into documents, beside a plain
dataclass built from the same rows as the floor.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from coodie.document import DocumentBase
from coodie.fields import PrimaryKey
from coodie.statements import get_statement, insert_statement

ROWS = 100_000


class User(DocumentBase):
    id: Annotated[uuid.UUID, PrimaryKey()]
    name: str
    age: int
    joined: datetime

    class Settings:
        name = "users"
        keyspace = "bench"


@dataclass
class UserRow:
    id: uuid.UUID
    name: str
    age: int
    joined: datetime


def best_of(repeats: int, run: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        started = time.process_time()
        run()
        timings.append(time.process_time() - started)
    return statistics.median(timings)


def main() -> None:
    user = User(
        id=uuid.uuid4(), name="Alice", age=42, joined=datetime.now(timezone.utc)
    )
    loops = 20_000

    insert = best_of(
        5, lambda: [insert_statement(user, keyspace=None) for _ in range(loops)]
    )
    get = best_of(
        5, lambda: [get_statement(User, None, {"id": user.id}) for _ in range(loops)]
    )
    print(f"insert statement, built and bound: {insert / loops * 1e6:6.2f} us")
    print(f"get-by-key statement:             {get / loops * 1e6:6.2f} us")

    columns = ("id", "name", "age", "joined")
    naive = datetime(2024, 1, 1, 12, 0)
    rows = [(uuid.uuid4(), f"user{i}", i, naive) for i in range(ROWS)]
    documents = best_of(5, lambda: User.from_rows(columns, rows))
    floor = best_of(5, lambda: [UserRow(*row) for row in rows])
    print(f"rows to documents:                {documents / ROWS * 1e6:6.2f} us/row")
    print(f"rows to dataclasses (floor):      {floor / ROWS * 1e6:6.2f} us/row")


if __name__ == "__main__":
    main()
