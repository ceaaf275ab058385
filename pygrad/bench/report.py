"""Turn benchmark records into ratios, a markdown report and an optional bar chart."""
from __future__ import annotations

from .runner import FLOOR

SHORT = {"pygrad-native": "native", "pygrad-unfused": "unfused", "pygrad-pure": "pure", "torch": "torch", "numpy": "numpy", FLOOR: "floor"}

TIMING_COLUMNS = ("workload", "size", "threads", "gc", "library", "median", "min", "IQR", "per unit", "peak memory")
RATIO_COLUMNS = ("workload", "size", "threads", "gc", "ratio", "value")
TARGET_COLUMNS = ("target", "workload", "size", "value", "limit", "")

# The targets of one run at 1 thread with the collector on: (what, workload, sizes or None for
# all, numerator, denominator, limit).  A ratio of median times, or "bytes/op" for graph memory.
TARGETS = (
    ("native/torch per node", "W1", None, "native/torch", 0.5),
    ("native/torch per op", "W2", None, "native/torch", 0.5),
    ("native/torch per op", "W5", None, "native/torch", 0.5),
    ("native/torch per step", "W7", None, "native/torch", 0.8),
    ("native/pure", "W1", None, "native/pure", 0.25),
    ("native/pure", "W2", None, "native/pure", 0.25),
    ("native/pure", "W5", None, "native/pure", 0.25),
    ("native/numpy", "W4", None, "native/numpy", 1.1),
    ("native/pure", "W3f64", None, "native/pure", 1.0),
    ("native bytes per op", "W5", None, "bytes/op", 600),
    # large tensors (fusion): W3 near the copy floor, and faster than pure and torch eager
    ("native/copy floor", "W3", None, "native/floor", 3.0),
    ("native/pure", "W3", None, "native/pure", 0.2),
    ("native/torch", "W3", None, "native/torch", 0.2),
    ("native/unfused", "W6", None, "native/unfused", 0.25),
    ("native/torch", "W6", None, "native/torch", 1 / 3),
)


def _pairs(workload: str):
    """(numerator, denominator) libraries whose median-time ratios are reported for ``workload``."""
    yield "pygrad-native", "pygrad-pure"
    yield "pygrad-native", "pygrad-unfused"
    yield "pygrad-native", "torch"
    yield "pygrad-pure", "torch"
    if workload in ("W3", "W3f64"):
        for lib in ("pygrad-native", "pygrad-unfused", "pygrad-pure", "torch", "numpy"):
            yield lib, FLOOR
    if workload == "W4":
        for lib in ("pygrad-native", "pygrad-pure", "torch"):
            yield lib, "numpy"


def ratios(records) -> list[dict]:
    """Median-time ratios (numerator time / denominator time: below 1, the numerator is faster)."""
    timed = {(r["workload"], r["label"], r["threads"], r.get("gc", "on"), r["library"]): r
             for r in records if r["status"] == "ok"}
    groups = dict.fromkeys(key[:4] for key in timed)
    out = []
    for workload, label, threads, gc in groups:
        for num, den in _pairs(workload):
            a = timed.get((workload, label, threads, gc, num))
            # The copy floor is timed once, with the collector on (it allocates nothing).
            b = timed.get((workload, label, threads, gc if den != FLOOR else "on", den))
            if a and b:
                out.append({"workload": workload, "label": label, "threads": threads, "gc": gc,
                            "ratio": f"{SHORT[num]}/{SHORT[den]}", "value": a["median"] / b["median"]})
    return out


def targets(records) -> list[dict]:
    """The issue's targets that this run measured (1 thread, collector on), met or not."""
    found = {(q["workload"], q["label"], q["ratio"]): q["value"]
             for q in ratios(records) if q["threads"] == 1 and q["gc"] == "on"}
    for r in records:
        if (r["status"] == "ok" and r["library"] == "pygrad-native" and r["threads"] == 1
                and r.get("gc", "on") == "on" and "peak_bytes" in r):
            found[(r["workload"], r["label"], "bytes/op")] = r["peak_bytes"] / r["count"]
    out = []
    for what, workload, _, ratio, limit in TARGETS:
        for (w, label, name), value in found.items():
            if w == workload and name == ratio:
                out.append({"target": what, "workload": w, "label": label, "value": value,
                            "limit": limit, "met": value <= limit})
    return out


def seconds(t: float) -> str:
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def mebibytes(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(columns, rows) -> list[str]:
    return [_row(columns), _row("---" for _ in columns), *(_row(r) for r in rows)]


def header_lines(meta: dict) -> list[str]:
    m, v = meta["machine"], meta["versions"]
    cores = f"{m['logical_cores']} logical"
    if m.get("physical_cores"):
        cores += f", {m['physical_cores']} physical"
    if m.get("usable_cores") and m["usable_cores"] != m["logical_cores"]:
        cores += f", {m['usable_cores']} usable"
    lines = [f"- machine: {m['cpu']} ({cores}), {m['platform']}",
             f"- python {m['python']}, numpy {v['numpy']}, torch {v['torch'] or 'not installed'}, "
             f"pygrad {v['pygrad']} (backends built: {', '.join(v['pygrad_backends'])})"]
    for threads, blas in meta["blas"].items():
        lines.append(f"- BLAS at {threads} thread(s): {blas}")
    if m["openblas_overrides"]:
        pinned = ", ".join(f"{k}={v}" for k, v in m["openblas_overrides"].items())
        lines.append(f"- note: {pinned} is set; it forces an OpenBLAS kernel and can slow NumPy")
    collector = {"on": "on, as programs run", "off": "off, as timeit runs",
                 "both": "on and off (the gc column)"}[meta.get("gc", "on")]
    lines.append(f"- mode: {'quick (smoke sizes, few samples)' if meta['quick'] else 'full'}; "
                 f"garbage collector {collector}; "
                 "times are per step; per unit divides the median by the nodes/ops of a step")
    return lines


def markdown(records, meta: dict) -> str:
    lines = ["# pygrad benchmarks", "", *header_lines(meta), ""]
    rows = []
    for r in records:
        if r["status"] != "ok":
            continue
        per_unit = f"{seconds(r['per_unit'])}/{r['unit']}" if r["count"] > 1 else ""
        peak = mebibytes(r["peak_bytes"]) if "peak_bytes" in r else ""
        if "bandwidth_bytes_per_s" in r:
            peak = f"copy at {r['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s"
        rows.append((r["workload"], r["label"], r["threads"], r.get("gc", "on"), r["library"], seconds(r["median"]),
                     seconds(r["min"]), seconds(r["iqr"]), per_unit, peak))
    lines += _table(TIMING_COLUMNS, rows)
    ratio_rows = [(q["workload"], q["label"], q["threads"], q["gc"], q["ratio"], f"{q['value']:.3g}")
                  for q in ratios(records)]
    lines += ["", "Ratios of median times (a/b below 1: a is faster; x/floor: how far from reading x "
              "and writing its gradient once at copy bandwidth):", ""]
    lines += _table(RATIO_COLUMNS, ratio_rows)
    target_rows = [(t["target"], t["workload"], t["label"],
                    f"{t['value']:.0f}" if t["limit"] >= 100 else f"{t['value']:.3g}", f"≤ {t['limit']:.3g}",
                    "met" if t["met"] else "**missed**") for t in targets(records)]
    if target_rows:
        lines += ["", "Targets (1 thread, collector on; a time ratio, or bytes of graph memory per op):", ""]
        lines += _table(TARGET_COLUMNS, target_rows)
    skipped = {(r["workload"], r["library"], r["reason"]) for r in records if r["status"] == "skipped"}
    if skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {w} on {lib}: {reason}" for w, lib, reason in sorted(skipped)]
    return "\n".join(lines) + "\n"


def plot(records, path: str) -> None:
    """A horizontal bar chart of the ratios, log scale, written to ``path`` (.png or .svg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ratios(records)
    if not rows:
        raise ValueError("no ratios to plot: run at least two libraries on a workload")
    labels = [f"{q['workload']} {q['label']}, {q['threads']}t, gc {q['gc']}: {q['ratio']}" for q in rows]
    values = [q["value"] for q in rows]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.2))
    colors = ["tab:green" if v < 1 else "tab:red" for v in values]
    ax.barh(range(len(rows)), values, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("ratio of median times (below 1: the first is faster)")
    ax.set_title("pygrad benchmark ratios")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
