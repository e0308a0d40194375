"""Generate coodie.sync's modules from coodie.aio's, so the API is written once.

The async modules are the source. Each listed module is rewritten token by token
(``async def`` becomes ``def``, ``await`` disappears, ``AsyncBatchQuery`` becomes
``BatchQuery``, ...) and formatted with ruff. Lines that end with
``# unasync: remove`` are dropped. The driver adapters (``_driver.py``) and the
package ``__init__`` are written by hand on each side.

Usage::

    python scripts/generate_sync.py           # rewrite packages/coodie-sync
    python scripts/generate_sync.py --check   # fail if the files are stale
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "packages/coodie-aio/src/coodie/aio"
TARGET = ROOT / "packages/coodie-sync/src/coodie/sync"
MODULES = ("connection.py", "batch.py", "queryset.py", "document.py")
# Integration tests are written once, async; tests that only make sense for the
# async door are named test_aio_*.py and have no twin.
TESTS_SOURCE = ROOT / "integration-tests/aio"
TESTS_TARGET = ROOT / "integration-tests/sync"

REPLACEMENTS = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncBatchQuery\b", "BatchQuery"),
    (r"\bcoodie\.aio\b", "coodie.sync"),
    (r"\bawaitable\b", "blocking"),
    (r"\bawaited\b", "blocking"),
    (r"pytest\.mark\.anyio, ", ""),
]

HEADER = (
    "# Generated from {source} by scripts/generate_sync.py: do not edit.\n"
    "# Change the async module and run the script again.\n"
)


def unasync(source: str) -> str:
    """Rewrite async source as its blocking twin."""
    lines = [
        line
        for line in source.splitlines(keepends=True)
        if not line.rstrip().endswith("# unasync: remove")
    ]
    text = "".join(lines)
    for pattern, replacement in REPLACEMENTS:
        text = re.sub(pattern, replacement, text)
    return text


def formatted(text: str, target: Path) -> str:
    """Format and import-sort ``text`` the way the repository's ruff settings say."""
    filename = str(target)
    for command in (
        [
            "ruff",
            "check",
            "--select",
            "I",
            "--fix",
            "--quiet",
            "--stdin-filename",
            filename,
            "-",
        ],
        ["ruff", "format", "--quiet", "--stdin-filename", filename, "-"],
    ):
        result = subprocess.run(
            command, input=text, capture_output=True, text=True, check=False, cwd=ROOT
        )
        if result.returncode not in (0, 1) or not result.stdout:
            raise SystemExit(f"ruff failed on {target}: {result.stderr}")
        text = result.stdout
    return text


def _pairs() -> list[tuple[Path, Path]]:
    pairs = [(SOURCE / name, TARGET / name) for name in MODULES]
    for source in sorted(TESTS_SOURCE.glob("*.py")):
        if source.name.startswith("test_aio_"):
            continue
        pairs.append((source, TESTS_TARGET / source.name))
    return pairs


def generate() -> dict[Path, str]:
    """Return the text every generated file should have."""
    outputs = {}
    for source, target in _pairs():
        header = HEADER.format(source=source.relative_to(ROOT).as_posix())
        outputs[target] = formatted(header + unasync(source.read_text()), target)
    return outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report files that are stale"
    )
    args = parser.parse_args()

    stale = []
    for path, text in generate().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text)

    if args.check and stale:
        names = ", ".join(str(path) for path in stale)
        print(f"stale generated files: {names}; run scripts/generate_sync.py")
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
