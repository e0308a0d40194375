"""Summarize a cProfile run per operation: which functions and packages cost what."""

from __future__ import annotations

import cProfile
import pstats
import re
from collections import defaultdict
from typing import Any

TOP_FUNCTIONS = 10
MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
PACKAGES = (
    ("/coodie/", "coodie"),
    ("/cassandra/", "cassandra-driver"),
    ("/anyio/", "anyio"),
    ("/trio/", "trio"),
    ("/asyncio/", "asyncio"),
    ("/pydantic", "pydantic"),
    ("/benchmarks/", "benchmark loop"),
)


def package_of(filename: str) -> str:
    """Which package a frame's file belongs to (``builtins`` for C functions)."""
    if filename == "~":
        return "builtins"
    for marker, package in PACKAGES:
        if marker in filename:
            return package
    return "stdlib/other"


def short_name(filename: str, line: int, function: str) -> str:
    """``package/module.py:function`` without the machine's paths."""
    if filename == "~":
        return MEMORY_ADDRESS.sub("", function)
    parts = filename.replace("\\", "/").split("/")
    for anchor in ("coodie", "cassandra", "anyio", "trio", "asyncio", "pydantic"):
        if anchor in parts[:-1]:
            start = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[start:]) + f":{line}({function})"
    return f"{parts[-1]}:{line}({function})"


def summarize_profile(profiler: cProfile.Profile, operations: int) -> dict[str, Any]:
    """Self time per operation by package, and the costliest functions."""
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, calls, self_s, cumulative_s, _) in stats.items():
        package = package_of(filename)
        by_package[package] += self_s
        functions.append(
            {
                "function": short_name(filename, line, name),
                "package": package,
                "self_us": self_s / operations * 1e6,
                "cumulative_us": cumulative_s / operations * 1e6,
                "calls_per_op": calls / operations,
            }
        )
    total_self_us = sum(by_package.values()) / operations * 1e6
    for function in functions:
        function["share"] = (
            function["self_us"] / total_self_us if total_self_us else 0.0
        )
    functions.sort(key=lambda function: function["self_us"], reverse=True)
    coodie_functions = sorted(
        (f for f in functions if f["package"] == "coodie"),
        key=lambda function: function["cumulative_us"],
        reverse=True,
    )
    return {
        "operations": operations,
        "profiled_self_us": total_self_us,
        "self_us_by_package": {
            package: seconds / operations * 1e6
            for package, seconds in sorted(
                by_package.items(), key=lambda item: item[1], reverse=True
            )
        },
        "top_self": functions[:TOP_FUNCTIONS],
        "top_self_by_package": {
            package: [f for f in functions if f["package"] == package][:4]
            for package in by_package
        },
        "coodie_by_cumulative": coodie_functions[:TOP_FUNCTIONS],
    }
