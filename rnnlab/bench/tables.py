"""The benchmark report (what `python -m rnnlab.bench --out` writes) as markdown: one renderer per section.

Torch-free, so the docs site renders docs/speed.md's tables from the committed JSON (`rnnlab.bench.docs_tables`)
with the same code that prints them at the end of a run, and every figure on the page is one the bench measured.
"""

from __future__ import annotations

from collections.abc import Callable

from rnnlab.record.formatting import duration, markdown

# rnnlab's thin wrapper of nn.RNN: nn.RNN timed a second time, so its spread around 1 is the tables' noise floor
SAME_KERNEL = "torch"


def meta_text(report: dict) -> str:
    """Which command, code, date and machine produced the report, and how busy the machine was."""
    meta = report["meta"]
    machine = meta["machine"]
    load_start, load_end = meta["load_average_start"][0], meta["load_average_end"][0]
    revision = f" at rnnlab {meta['revision']}" if meta.get("revision") else ""
    lines = [
        f"Measured with `{meta['command']}`{revision}, started {meta['started'].replace('T', ' ')}, "
        f"{duration(meta['wall_s'])} in all: {machine['processor']}, {machine['cpu_count']} CPU cores, "
        f"{machine['platform']}, Python {machine['python']}, torch {machine['torch']}, "
        f"{meta['threads']} torch threads, OMP_WAIT_POLICY={machine['omp_wait_policy']}; "
        f"load average {load_start:.2f} at the start, {load_end:.2f} at the end; "
        + (
            f"CUDA: {machine['cuda']}." if machine.get("cuda") else "CUDA: not available on this machine, not measured."
        ),
    ]
    if meta.get("quick"):
        lines.append(
            "**A smoke run (`--quick`)**: small shapes, few repeats and tiny jobs, to check the machinery; not "
            "figures to quote."
        )
    return "\n\n".join(lines)


def models_tables(entries: list[dict]) -> str:
    """One table per device and thread count: nn.RNN's ms per batch, then each implementation's ratio to it."""
    tables = []
    groups: dict[tuple[str, int], list[dict]] = {}
    for entry in entries:
        groups.setdefault((entry["device"], entry["threads"]), []).append(entry)
    for (device, threads), group in groups.items():
        reference = group[0]["reference"]
        impls = list(dict.fromkeys(r["impl"] for entry in group for r in entry["results"]))
        cells = {(entry["label"], r["impl"]): r for entry in group for r in entry["results"]}
        rows = []
        for impl in impls:
            row = [f"{impl} (ms)" if impl == reference else impl]
            for entry in group:
                result = cells.get((entry["label"], impl))
                row.append(
                    ""
                    if result is None
                    else f"{result['median_ms']:.1f}"
                    if impl == reference
                    else f"{result['ratio']:.2f}"
                )
            rows.append(row)
        title = (
            f"Forward+backward per batch, {device}"
            + (f", {threads} thread(s)" if device == "cpu" else "")
            + f": ratio to {reference} (median of {group[0]['repeats']} interleaved repeats)"
        )
        table = title + "\n\n" + markdown(["implementation", *(e["label"] for e in group)], rows)
        same = [r["ratio"] for entry in group for r in entry["results"] if r["impl"] == SAME_KERNEL]
        if same:
            table += (
                f"\n\nNoise floor: `{SAME_KERNEL}` (the same kernel as {reference}, timed again) at "
                f"{min(same):.2f}–{max(same):.2f} of it."
            )
        tables.append(table)
    return "\n\n".join(tables)


def train_table(entries: list[dict]) -> str:
    """The lab's ms per training step against the bare loop's, their difference and their ratio."""
    rows = [
        [
            str(e["num_layers"]),
            str(e["threads"]),
            f"{e['lab_ms_per_step']:.1f}",
            f"{e['bare_ms_per_step']:.1f}",
            f"{e['lab_ms_per_step'] - e['bare_ms_per_step']:.1f}",
            f"{e['ratio']:.2f}",
        ]
        for e in entries
    ]
    steps = ", ".join(sorted({str(e["steps"]) for e in entries}))
    repeats = ", ".join(sorted({str(e["repeats"]) for e in entries}))
    return (
        f"Training step, nn.RNN T100 B64 H128 on the adding task: ms per step over {steps} steps, median of "
        f"{repeats} alternating runs\n\n"
        + markdown(["layers", "threads", "rnnlab.train (all diagnostics)", "bare loop", "difference", "ratio"], rows)
    )


def sweep_table(entry: dict) -> str:
    """The same sweep's wall time with the basic launcher and with joblib."""
    rows = [
        ["basic", f"{entry['basic_s']:.1f}", f"{entry['basic_s'] / entry['jobs']:.1f}", "1.00"],
        [
            f"joblib, n_jobs={entry['n_jobs']}",
            f"{entry['joblib_s']:.1f}",
            f"{entry['joblib_s'] / entry['jobs']:.1f}",
            f"{entry['ratio']:.2f}",
        ],
    ]
    return f"Sweep of {entry['jobs']} jobs ({' '.join(entry['job'])}), wall time\n\n" + markdown(
        ["launcher", "seconds", "seconds per job", "ratio"], rows
    )


def startup_table(entry: dict) -> str:
    """Each command's median wall time and its ratio to `import torch, hydra`."""
    rows = [[r["command"], f"`{r['argv']}`", f"{r['median_s']:.2f}", f"{r['ratio']:.2f}"] for r in entry["results"]]
    return (
        f"Start-up, wall time of the whole command (median of {entry['repeats']} interleaved rounds), "
        f'ratio to `python -c "{entry["reference"]}"`\n\n' + markdown(["what", "command", "seconds", "ratio"], rows)
    )


def targets_table(rows: list[dict]) -> str:
    """Every target found in the report: measured, its limit, met or not."""
    if not rows:
        return "Targets: none measured in this run (the target shapes and sections were not run)."

    def verdict(row: dict) -> str:
        return "not measured" if row["met"] is None else "met" if row["met"] else "NOT met"

    body = [
        [
            r["target"],
            "" if r["threads"] is None else str(r["threads"]),
            "" if r["layers"] is None else str(r["layers"]),
            f"{r['measured']:.2f}",
            f"<= {r['limit']:.3g}",
            verdict(r),
            r["note"],
        ]
        for r in rows
    ]
    return "Targets (CPU)\n\n" + markdown(
        ["target", "threads", "layers", "measured", "limit", "verdict", "measured on"], body
    )


# section name -> its renderer, in the order `render` prints them; each reads report[section]
SECTIONS: dict[str, Callable[[dict], str]] = {
    "meta": meta_text,
    "models": lambda report: models_tables(report["models"]),
    "train": lambda report: train_table(report["train"]),
    "sweep": lambda report: sweep_table(report["sweep"]),
    "startup": lambda report: startup_table(report["startup"]),
    "targets": lambda report: targets_table(report["targets"]),
}


class MissingSection(LookupError):
    """A section that is no section of a report, or that this report does not hold."""


def render_section(report: dict, section: str) -> str:
    """The markdown of one section of `report`; MissingSection, naming what there is, when it has no such part."""
    if section not in SECTIONS:
        raise MissingSection(f"no section {section!r}: one of {', '.join(SECTIONS)}")
    if report.get(section) is None:
        held = ", ".join(name for name in SECTIONS if report.get(name) is not None) or "nothing"
        raise MissingSection(f"the report holds no {section!r} section (it holds {held})")
    return SECTIONS[section](report)


def render(report: dict) -> str:
    """Every measured section's tables (the console's summary at the end of a run)."""
    parts = [SECTIONS[section](report) for section in SECTIONS if section != "meta" and report.get(section)]
    machine = report.get("meta", {}).get("machine", {})
    if report.get("models") and not machine.get("cuda"):
        parts.append("CUDA: not available on this machine, not measured.")
    return "\n\n".join(parts)
