"""Turn samples into figures: medians and spread, ratios, targets, table and chart."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workload import CPU_OPERATIONS, SERVER_OPERATIONS, Sample, Sizes

RAW = "raw"
RAW_ASYNCIO = "raw_asyncio"
RAW_CONCURRENT = "raw_concurrent"
CANNED = "canned_"
COODIE_CONTENDERS = ("coodie_sync", "coodie_aio_asyncio", "coodie_aio_trio")
RIVALS = ("cqlengine", "coodie193_sync", "coodie193_aio")
SINGLE_ROW_OPERATIONS = (
    "insert",
    "get",
    "update",
    "insert_if_not_exists",
    "delete",
    "count",
)
RATIO_LIMITS = {
    **dict.fromkeys(SINGLE_ROW_OPERATIONS, 1.05),
    "read_partition": 1.2,
    "iterate": 1.5,
}
THROUGHPUT_FLOOR = 0.9
TRIO_MARGIN = 1.15


def throughput_operation(concurrency: int) -> str:
    """The id of the throughput operation at ``concurrency`` in flight."""
    return f"throughput_{concurrency}"


def canned_operation(operation: str) -> str:
    """The id of ``operation`` timed on canned answers instead of the node."""
    return CANNED + operation


def floor_of(operation: str) -> str:
    """The contender an operation's ratios divide by: the raw driver's way of it."""
    if operation.removeprefix(CANNED).startswith("throughput"):
        return RAW_ASYNCIO
    return RAW


def operation_labels(sizes: Sizes) -> dict[str, str]:
    """What each operation id means, with this run's sizes."""
    labels = {
        "insert": "insert one row",
        "get": "get by primary key",
        "read_partition": f"read a {sizes.partition_rows:,}-row partition",
        "iterate": f"iterate {sizes.iterate_rows:,} rows",
        "update": "update one column",
        "insert_if_not_exists": "insert IF NOT EXISTS",
        "batch_insert": f"UNLOGGED batch of {sizes.batch_rows} inserts",
        "count": f"count a {sizes.partition_rows:,}-row partition",
        "delete": "delete one row",
        "cpu_build_bind": "build and bind an INSERT (send stubbed), per statement",
        "cpu_document_to_values": "document to bind values, per document",
        "cpu_rows_to_documents": f"{sizes.cpu_rows:,} rows to documents, per row",
    }
    for concurrency in sizes.concurrency_levels:
        labels[throughput_operation(concurrency)] = (
            f"{sizes.throughput_requests:,} inserts, {concurrency} in flight"
        )
    for operation in [*SERVER_OPERATIONS, *labels]:
        if not operation.startswith("cpu"):
            labels[canned_operation(operation)] = labels[operation]
    return labels


def expected_rows(operation: str, sizes: Sizes, operations: int) -> int | None:
    """The rows a sample of ``operations`` operations must see, where it is known."""
    if operation in ("read_partition", "count"):
        return operations * sizes.partition_rows
    if operation == "iterate":
        return operations * sizes.iterate_rows
    if operation in CPU_OPERATIONS:
        return None
    return operations


def is_target_operation(operation: str) -> bool:
    """Whether targets apply: measured against the node, not canned or client-only."""
    return not operation.startswith(CANNED) and operation not in CPU_OPERATIONS


# -- statistics -------------------------------------------------------------------


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and quartiles of ``values``."""
    if len(values) == 1:
        return {"median": values[0], "q1": values[0], "q3": values[0]}
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"median": median, "q1": q1, "q3": q3}


def summarize(operation: str, samples: list[Sample], sizes: Sizes) -> dict[str, Any]:
    """Per-operation figures of one contender's samples of one operation."""
    wall = [s.wall_s / s.operations * 1e6 for s in samples]
    cpu = [s.cpu_s / s.operations * 1e6 for s in samples]
    thread_cpu = [s.thread_cpu_s / s.operations * 1e6 for s in samples]
    summary: dict[str, Any] = {
        "samples": len(samples),
        "operations_per_sample": samples[0].operations,
        "wall_us": spread(wall),
        "cpu_us": spread(cpu),
        "calling_thread_cpu_us": spread(thread_cpu),
    }
    if operation.startswith("throughput"):
        summary["ops_per_s"] = spread([s.operations / s.wall_s for s in samples])
    expected = expected_rows(
        operation.removeprefix(CANNED), sizes, samples[0].operations
    )
    seen = [s.rows for s in samples]
    if expected is not None and any(rows != expected for rows in seen):
        summary["rows_expected"] = expected
        summary["rows_seen"] = min(seen)
    return summary


def add_ratios(results: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Give every figure its ratio to the raw driver's way of the operation."""
    for operation, by_contender in results.items():
        floor = by_contender.get(floor_of(operation))
        if floor is None:
            continue
        for figures in by_contender.values():
            for key in ("wall_us", "cpu_us", "ops_per_s"):
                if key in figures:
                    ratio_key = "ratio_" + key.removesuffix("_us")
                    figures[ratio_key] = figures[key]["median"] / floor[key]["median"]


# -- targets ----------------------------------------------------------------------


def _target(
    group: str,
    contender: str,
    operation: str,
    measured: float,
    limit: float,
    met: bool,
    detail: str,
) -> dict[str, Any]:
    return {
        "group": group,
        "contender": contender,
        "operation": operation,
        "measured": measured,
        "limit": limit,
        "met": met,
        "detail": detail,
    }


def evaluate_targets(
    results: dict[str, dict[str, dict[str, Any]]], sizes: Sizes
) -> list[dict[str, Any]]:
    """Check each target on client CPU per operation (throughput: on ops/s)."""
    targets = []
    for operation, limit in RATIO_LIMITS.items():
        for contender in COODIE_CONTENDERS:
            figures = results.get(operation, {}).get(contender)
            if figures is None:
                continue
            ratio = figures["ratio_cpu"]
            targets.append(
                _target(
                    "within the raw driver's CPU",
                    contender,
                    operation,
                    ratio,
                    limit,
                    ratio <= limit,
                    f"CPU {ratio:.2f}x raw (wall {figures['ratio_wall']:.2f}x), "
                    f"limit {limit:.2f}x",
                )
            )

    for concurrency in sizes.concurrency_levels:
        operation = throughput_operation(concurrency)
        by_contender = results.get(operation, {})
        for floor_id, group in (
            (RAW_ASYNCIO, "async throughput vs raw execute_async on asyncio"),
            (RAW_CONCURRENT, "async throughput vs raw execute_concurrent"),
        ):
            floor = by_contender.get(floor_id)
            for contender in ("coodie_aio_asyncio", "coodie_aio_trio"):
                figures = by_contender.get(contender)
                if figures is None or floor is None:
                    continue
                ratio = figures["ops_per_s"]["median"] / floor["ops_per_s"]["median"]
                targets.append(
                    _target(
                        group,
                        contender,
                        operation,
                        ratio,
                        THROUGHPUT_FLOOR,
                        ratio >= THROUGHPUT_FLOOR,
                        f"{ratio:.2f}x {floor_id}'s ops/s, floor {THROUGHPUT_FLOOR}x",
                    )
                )

    for operation, by_contender in results.items():
        if not is_target_operation(operation):
            continue
        on_asyncio = by_contender.get("coodie_aio_asyncio")
        on_trio = by_contender.get("coodie_aio_trio")
        if on_asyncio is None or on_trio is None:
            continue
        if "ops_per_s" in on_trio:
            ratio = on_asyncio["ops_per_s"]["median"] / on_trio["ops_per_s"]["median"]
            detail = f"trio reaches 1/{ratio:.2f} of asyncio's ops/s"
        else:
            ratio = on_trio["cpu_us"]["median"] / on_asyncio["cpu_us"]["median"]
            detail = f"trio's CPU is {ratio:.2f}x asyncio's"
        targets.append(
            _target(
                "trio within 15% of asyncio",
                "coodie_aio_trio",
                operation,
                ratio,
                TRIO_MARGIN,
                ratio <= TRIO_MARGIN,
                detail,
            )
        )

    for operation, by_contender in results.items():
        if operation.startswith(CANNED):
            continue
        for contender in COODIE_CONTENDERS:
            ours = by_contender.get(contender)
            if ours is None:
                continue
            for rival in RIVALS:
                theirs = by_contender.get(rival)
                if theirs is None:
                    continue
                # A rival that returned fewer rows is compared per row.
                their_cpu = theirs["cpu_us"]["median"]
                if theirs.get("rows_seen"):
                    their_cpu *= theirs["rows_expected"] / theirs["rows_seen"]
                ratio = ours["cpu_us"]["median"] / their_cpu
                targets.append(
                    _target(
                        f"faster than {rival}",
                        contender,
                        operation,
                        ratio,
                        1.0,
                        ratio < 1.0,
                        f"CPU {ratio:.2f}x {rival}'s",
                    )
                )
    return targets


# -- formatting -------------------------------------------------------------------


def number(value: float) -> str:
    """A figure with about three significant digits."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(figures: dict[str, Any] | None, key: str, ratio_key: str) -> str:
    """``median ±IQR (ratio)`` for one table cell."""
    if figures is None:
        return "n/a"
    values = figures[key]
    text = f"{number(values['median'])} ±{number(values['q3'] - values['q1'])}"
    ratio = figures.get(ratio_key)
    if ratio is not None:
        text += f" ({ratio:.2f}x)"
    if "rows_seen" in figures:
        text += f" [{figures['rows_seen']:,} of {figures['rows_expected']:,} rows]"
    return text


def table(
    operations: Sequence[str],
    results: dict[str, dict[str, dict[str, Any]]],
    contenders: Sequence[dict[str, str]],
    labels: dict[str, str],
    key: str,
    ratio_key: str,
) -> list[str]:
    """A Markdown table: one row per operation, one column per contender."""
    contenders = [
        c for c in contenders if any(c["id"] in results.get(o, {}) for o in operations)
    ]
    header = "| operation | " + " | ".join(c["label"] for c in contenders) + " |"
    lines = [header, "|---" * (len(contenders) + 1) + "|"]
    for operation in operations:
        by_contender = results.get(operation, {})
        cells = [cell(by_contender.get(c["id"]), key, ratio_key) for c in contenders]
        lines.append(f"| {labels[operation]} | " + " | ".join(cells) + " |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The results as Markdown: run facts, the tables, targets and hot spots."""
    meta = report["meta"]
    sizes = Sizes.from_json(meta["sizes"])
    labels = operation_labels(sizes)
    contenders = report["contenders"]
    results = report["results"]
    throughput_ids = [throughput_operation(c) for c in sizes.concurrency_levels]
    modified = meta["source"]["packages_modified"]
    dirty = " with uncommitted changes to packages/" if modified else ""

    lines = [
        "# coodie benchmark results",
        "",
        f"Run of {meta['finished']} ({meta['preset']} preset, {meta['rounds']} "
        f"interleaved rounds after {meta['warmup_rounds']} warm-up round). "
        f"Cassandra {meta['server']['release_version']} on {meta['hosts']}; "
        f"{meta['machine']['cpu_count']} CPU cores shared by the node and the "
        f"client; Python {meta['versions']['python']}, cassandra-driver "
        f"{meta['versions']['cassandra-driver']}, pydantic "
        f"{meta['versions']['pydantic']}. One-minute load average "
        f"{meta['load_average']['start'][0]:.1f} at the start and "
        f"{meta['load_average']['end'][0]:.1f} at the end; the run took "
        f"{meta['duration_s']} s. coodie at commit {meta['source']['commit']}"
        f"{dirty}.",
        "",
        "Each cell: median per operation ±interquartile range (q3 - q1) over the "
        "rounds, and (in brackets) the multiple of the raw driver's median. "
        "Client CPU is `time.process_time()`: every thread of the client process, "
        "the driver's IO thread included.",
        "",
        "## Client CPU per operation (us)",
        "",
        *table(SERVER_OPERATIONS, results, contenders, labels, "cpu_us", "ratio_cpu"),
        "",
        "## Wall time per operation (us)",
        "",
        *table(SERVER_OPERATIONS, results, contenders, labels, "wall_us", "ratio_wall"),
        "",
        "## Async throughput",
        "",
        "Inserts of new rows with N requests in flight. coodie.aio and coodie "
        "1.9.3 run N tasks that each save one document at a time; the floor "
        "(ratio 1.00) is the raw driver's `execute_async` awaited on asyncio the "
        "same way (callbacks hand the result over with `call_soon_threadsafe`); "
        "`execute_concurrent` chains `execute_async` from the driver's callbacks "
        "with no event loop, the fastest the driver can go. Operations per second "
        "(ratio: higher is better):",
        "",
        *table(
            throughput_ids, results, contenders, labels, "ops_per_s", "ratio_ops_per_s"
        ),
        "",
        "Client CPU per insert (us):",
        "",
        *table(throughput_ids, results, contenders, labels, "cpu_us", "ratio_cpu"),
        "",
        "## The client's own work, node replaced by canned answers",
        "",
        "The same operations with the driver session swapped for one that binds "
        "each statement as the driver does and answers at once with the rows the "
        "node would send. No network, no node, no IO thread: what remains is each "
        "library's own work (and, for the async door, the event loop's), with "
        "little noise. Client CPU per operation (us):",
        "",
        *table(
            [canned_operation(o) for o in [*SERVER_OPERATIONS, *throughput_ids]],
            results,
            contenders,
            labels,
            "cpu_us",
            "ratio_cpu",
        ),
        "",
        "## Client side only (no request reaches the node)",
        "",
        "Client CPU per item (us). coodie's figure is the core both front doors "
        "call; n/a: the library has no separate step of that kind. The raw "
        "driver's document is its row, a tuple that binds as it is.",
        "",
        *table(CPU_OPERATIONS, results, contenders, labels, "cpu_us", "ratio_cpu"),
    ]
    lines += ["", "## Targets", "", *targets_markdown(report["targets"], labels)]
    if report.get("profiles"):
        lines += ["", "## Where coodie's time goes", "", *profiles_markdown(report)]
    if report.get("notes"):
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def targets_markdown(
    targets: list[dict[str, Any]], labels: dict[str, str]
) -> list[str]:
    """One line per target group: met everywhere, or where it was missed."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        groups.setdefault(target["group"], []).append(target)
    lines = ["| target | met | missed (measured) |", "|---|---|---|"]
    for group, members in groups.items():
        missed = [t for t in members if not t["met"]]
        where = "; ".join(
            f"{t['contender']} {labels.get(t['operation'], t['operation'])}: "
            f"{t['measured']:.2f}x"
            for t in missed
        )
        met = f"{len(members) - len(missed)} of {len(members)}"
        lines.append(f"| {group} | {met} | {where or '-'} |")
    return lines


def profiles_markdown(report: dict[str, Any]) -> list[str]:
    """The hot spots of each profiled miss."""
    labels = operation_labels(Sizes.from_json(report["meta"]["sizes"]))
    lines = [
        "Each miss profiled with cProfile on canned answers (so that coodie's "
        "functions are not mixed with the node's latency and the driver's compiled "
        "request path), timing the calling thread's CPU (`time.thread_time`). "
        "Share: a function's self time in the profile. About us/op: that share of "
        "the calling thread's CPU measured on canned answers without the profiler "
        "(the profiler's own cost weighs on functions called often, so this is an "
        "estimate). A coroutine that awaits counts one more call each time it "
        "resumes.",
        "",
    ]
    for profile in report["profiles"]:
        total = profile["profiled_self_us"] or 1.0
        packages = ", ".join(
            f"{name} {us / total:.0%}"
            for name, us in profile["self_us_by_package"].items()
            if us / total >= 0.005
        )
        extra = [
            f"{text} {profile[key]:.1f} us/op"
            for key, text in (
                ("extra_cpu_us", "against the node"),
                ("canned_extra_cpu_us", "on canned answers"),
            )
            if key in profile
        ]
        lines += [
            f"### {profile['contender']}: {labels.get(profile['operation'])}",
            "",
            f"CPU over the raw driver's: {'; '.join(extra) or 'n/a'}. Share of the "
            f"profile by package: {packages}.",
            "",
            "| function | share of the profile | about us/op | calls/op |",
            "|---|---|---|---|",
        ]
        measured = profile.get("canned_cpu_us")
        for function in profile["top_self"]:
            estimate = (
                "n/a" if measured is None else f"{function['share'] * measured:.2f}"
            )
            lines.append(
                f"| `{function['function']}` | {function['share']:.1%} | {estimate} | "
                f"{function['calls_per_op']:.1f} |"
            )
        lines.append("")
        steps = []
        for function in profile["coodie_by_cumulative"][:8]:
            share = function["cumulative_us"] / total
            estimate = "" if measured is None else f", about {share * measured:.1f} us"
            steps.append(f"`{function['function']}` {share:.0%}{estimate}")
        if steps:
            lines += [f"coodie's steps, cumulative: {'; '.join(steps)}.", ""]
        for package in ("anyio", "asyncio", "trio", "pydantic"):
            functions = profile.get("top_self_by_package", {}).get(package)
            if functions:
                listed = ", ".join(
                    f"`{f['function']}` {f['share']:.1%}" for f in functions
                )
                lines += [
                    f"Costliest in {package} (share of the profile): {listed}.",
                    "",
                ]
    return lines


# -- chart ------------------------------------------------------------------------


SHORT_LABELS = {
    "insert": "insert",
    "get": "get",
    "read_partition": "partition",
    "iterate": "iterate",
    "update": "update",
    "insert_if_not_exists": "IF NOT EXISTS",
    "batch_insert": "batch",
    "count": "count",
    "delete": "delete",
    "cpu_build_bind": "build + bind",
    "cpu_document_to_values": "document -> values",
    "cpu_rows_to_documents": "rows -> documents",
}


def short_label(operation: str) -> str:
    """A label short enough for the chart's axis."""
    if operation.startswith("throughput"):
        return f"{operation.rsplit('_', 1)[1]} in flight"
    return SHORT_LABELS[operation]


def chart(report: dict[str, Any], path: Path) -> None:
    """Bar charts of the ratios to the raw driver and of throughput, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    meta = report["meta"]
    sizes = Sizes.from_json(meta["sizes"])
    results = report["results"]
    contenders = report["contenders"]
    palette = plt.get_cmap("tab10")
    colors = {c["id"]: palette(index % 10) for index, c in enumerate(contenders)}

    figure, axes = plt.subplots(2, 2, figsize=(17, 11))
    panels = [
        (axes[0][0], SERVER_OPERATIONS, "ratio_cpu", "client CPU per operation, x raw"),
        (axes[0][1], SERVER_OPERATIONS, "ratio_wall", "wall time per operation, x raw"),
        (
            axes[1][0],
            tuple(throughput_operation(c) for c in sizes.concurrency_levels),
            "ratio_ops_per_s",
            f"{sizes.throughput_requests:,} async inserts: ops/s, x raw execute_async "
            "on asyncio (higher is better)",
        ),
        (
            axes[1][1],
            CPU_OPERATIONS,
            "ratio_cpu",
            "client side only (no node): CPU per item, x raw",
        ),
    ]
    for axis, operations, key, title in panels:
        shown = [
            c
            for c in contenders
            if any(c["id"] in results.get(o, {}) for o in operations)
        ]
        width = 0.8 / max(1, len(shown))
        for index, contender in enumerate(shown):
            heights = [
                results.get(o, {}).get(contender["id"], {}).get(key, 0.0)
                for o in operations
            ]
            positions = [p + index * width for p in range(len(operations))]
            axis.bar(
                positions,
                heights,
                width,
                label=contender["label"],
                color=colors[contender["id"]],
            )
        axis.axhline(1.0, color="black", linewidth=0.8)
        axis.set_title(title, fontsize=10)
        axis.set_xticks([p + 0.4 - width / 2 for p in range(len(operations))])
        axis.set_xticklabels([short_label(o) for o in operations], fontsize=9)
        if key != "ratio_ops_per_s":
            axis.set_yscale("log")
            axis.yaxis.set_major_formatter(ScalarFormatter())
            axis.yaxis.set_minor_formatter(ScalarFormatter())
            axis.tick_params(axis="y", which="minor", labelsize=7)
        axis.grid(axis="y", alpha=0.3)
        axis.legend(fontsize=7, ncol=2)
    figure.suptitle(
        f"coodie vs the raw driver, cqlengine and coodie 1.9.3 on Cassandra "
        f"{meta['server']['release_version']} ({meta['preset']} run, "
        f"{meta['finished']}); medians over interleaved rounds"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
