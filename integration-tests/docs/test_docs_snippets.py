"""Run the Python code blocks of every documentation page against the node.

Each ``docs/**/*.md`` page is one test (two when it awaits: one on asyncio, one on
trio). Its fenced ```` ```python ```` blocks run in order, in one namespace, as a
reader would paste them:

- A block with a top-level ``await``, ``async for`` or ``async with`` runs on an
  event loop that lives as long as the page; every other block runs as it is.
- Keyspace names written in a page end in ``_ks`` (``my_ks``, ``audit_ks``). Each
  becomes a fresh name for the run, and is dropped after the page.
- The list ``["127.0.0.1"]`` (as in ``hosts=["127.0.0.1"]``) becomes the hosts of
  ``COODIE_HOSTS`` (comma-separated host names), when that is set.
- A block that must not run (TLS certificates, credentials, a server feature this
  node lacks) is preceded by the line ``<!-- docs-test: skip -->``. The comment is
  invisible in the rendered page and on GitHub.
- After a block that calls ``sync_table`` or ``sync_view``, the test waits until
  the page's new indexes are built: Cassandra builds them in the background, and
  a query that comes too soon fails (``keys-and-indexes.md`` tells readers so).

A failing block fails the test with the page, the block's line and the traceback,
whose line numbers are those of the Markdown file.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import secrets
import textwrap
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from cassandra.cluster import Session

import coodie.aio
import coodie.sync

pytestmark = pytest.mark.cluster

DOCS = Path(__file__).resolve().parents[2] / "docs"
SKIP_MARKER = "<!-- docs-test: skip -->"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
KEYSPACE_NAME = re.compile(r"\b([a-z][a-z0-9_]*_ks)\b")
SCHEMA_CHANGE = re.compile(r"\bsync_(table|view)\(")
INDEX_BUILD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a page."""

    page: Path
    line: int  # 1-based line of the block's first line of code
    code: str
    skipped: bool

    @property
    def awaits(self) -> bool:
        return bool(_compile(self, self.code).co_flags & inspect.CO_COROUTINE)


def python_blocks(page: Path) -> list[Block]:
    """The ```python blocks of a MyST page, nested fences and indentation included."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        info = opening["info"].strip()
        end = index + 1
        while end < len(lines):
            closing = FENCE.match(lines[end])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            end += 1
        if info in ("python", "py", "python3"):
            previous = next(
                (line.strip() for line in reversed(lines[:index]) if line.strip()), ""
            )
            blocks.append(
                Block(
                    page=page,
                    line=index + 2,
                    code=textwrap.dedent("\n".join(lines[index + 1 : end])),
                    skipped=previous == SKIP_MARKER,
                )
            )
            index = end + 1
        else:
            # Fences nested in a directive ({note}, {tip}) hold blocks too.
            index += 1
    return blocks


def _compile(block: Block, code: str) -> Any:
    # Blank lines in front keep the Markdown file's line numbers in tracebacks;
    # dont_inherit keeps this module's `from __future__ import annotations` out.
    source = "\n" * (block.line - 1) + code
    return compile(
        source,
        str(block.page),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )


def _pages() -> list[Any]:
    params = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        blocks = [block for block in python_blocks(page) if not block.skipped]
        if not blocks:
            continue
        name = str(page.relative_to(DOCS))
        if any(block.awaits for block in blocks):
            for backend in ("asyncio", "trio"):
                params.append(pytest.param(page, backend, id=f"{name}-{backend}"))
        else:
            params.append(pytest.param(page, None, id=name))
    return params


def _hosts() -> list[str] | None:
    setting = os.environ.get("COODIE_HOSTS")
    if not setting:
        return None
    return [host.strip() for host in setting.split(",") if host.strip()]


class PageRun:
    """Runs one page's blocks in one namespace, with fresh keyspace names."""

    def __init__(self, page: Path, portal: Any, cql_session: Session) -> None:
        self.page = page
        self.portal = portal
        self.cql_session = cql_session
        self.namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
        self.suffix = secrets.token_hex(3)
        self.keyspaces: set[str] = set()
        self.hosts = _hosts()

    def _rewrite(self, code: str) -> str:
        def fresh(match: re.Match[str]) -> str:
            name = f"{match[1][:40]}_{self.suffix}"
            self.keyspaces.add(name)
            return name

        code = KEYSPACE_NAME.sub(fresh, code)
        if self.hosts is not None:
            code = code.replace('["127.0.0.1"]', repr(self.hosts))
        return code

    def run(self, block: Block) -> None:
        compiled = _compile(block, self._rewrite(block.code))
        if not compiled.co_flags & inspect.CO_COROUTINE:
            exec(compiled, self.namespace)
        elif self.portal is None:
            raise RuntimeError("an awaiting block needs an event loop")
        else:
            coroutine = eval(compiled, self.namespace)
            self.portal.call(_awaited, coroutine)
        if SCHEMA_CHANGE.search(block.code):
            self._wait_for_indexes()

    def _wait_for_indexes(self) -> None:
        deadline = time.monotonic() + INDEX_BUILD_TIMEOUT_S
        for keyspace in sorted(self.keyspaces):
            declared = self._index_names(
                "SELECT index_name FROM system_schema.indexes WHERE keyspace_name = %s",
                keyspace,
            )
            while not declared <= self._index_names(
                'SELECT index_name FROM system."IndexInfo" WHERE table_name = %s',
                keyspace,
            ):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the indexes of {keyspace} were never built")
                time.sleep(0.05)

    def _index_names(self, cql: str, keyspace: str) -> set[str]:
        return {row.index_name for row in self.cql_session.execute(cql, [keyspace])}

    def close(self) -> None:
        coodie.sync.close_coodie()
        if self.portal is not None:
            self.portal.call(coodie.aio.close_coodie)
        for name in sorted(self.keyspaces):
            self.cql_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


async def _awaited(coroutine: Any) -> Any:
    return await coroutine


@pytest.fixture
def portal(request: pytest.FixtureRequest) -> Iterator[Any]:
    backend = request.node.callspec.params["backend"]
    if backend is None:
        yield None
        return
    with anyio.from_thread.start_blocking_portal(backend) as blocking_portal:
        yield blocking_portal


@pytest.mark.parametrize(("page", "backend"), _pages())
def test_page(
    page: Path, backend: str | None, portal: Any, cql_session: Session
) -> None:
    run = PageRun(page, portal, cql_session)
    try:
        for number, block in enumerate(python_blocks(page), start=1):
            if block.skipped:
                continue
            try:
                run.run(block)
            except Exception:
                where = f"{page.relative_to(DOCS.parent)}:{block.line}"
                pytest.fail(
                    f"block {number} of {where} failed:\n{traceback.format_exc()}",
                    pytrace=False,
                )
    finally:
        run.close()


def test_the_convention_finds_blocks(tmp_path: Path) -> None:
    """The parser sees indented, nested and skipped blocks, and nothing else."""
    page = tmp_path / "convention-check.md"
    page.write_text(
        "\n".join(
            [
                "```bash",
                "pip install coodie",
                "```",
                "<!-- docs-test: skip -->",
                "```python",
                "skipped = True",
                "```",
                "````{note}",
                "```python",
                "inside_note = 1",
                "```",
                "````",
                "- a list item",
                "",
                "  ```python",
                "  indented = await something()",
                "  ```",
            ]
        ),
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [(block.line, block.code, block.skipped) for block in blocks] == [
        (6, "skipped = True", True),
        (10, "inside_note = 1", False),
        (16, "indented = await something()", False),
    ]
    assert [block.awaits for block in blocks] == [False, False, True]
