"""The real-data studies' own parts of their reports (names, names_init, digits): the spread over seeds of the
test metrics, the names task's confusion matrix and example predictions, the digits IRNN's state rank.

Called by experiments/report.py after the common report (`STUDY_EXTRAS[study](sweep_dir, out)`); each returns the
Markdown it adds to report.md. Figures are drawn from the runs' own records: metrics.json, the TensorBoard scalars
and the final checkpoint (loaded with weights_only=True: tensors and plain containers only).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from rnnlab.record import tags  # noqa: E402
from rnnlab.record.run_record import read_record  # noqa: E402
from rnnlab.sweeps.report_files import CSV, markdown_table  # noqa: E402
from rnnlab.sweeps.table import read_scalars  # noqa: E402

METRICS = ["test_acc", "test_balanced_acc"]


def seed_summary(table: pd.DataFrame, groups: list[str], metrics: list[str] = METRICS) -> pd.DataFrame:
    """Mean, standard deviation, min and max over seeds of each metric, one row per group of the other keys."""
    done = table[table["status"] == "completed"]
    rows = []
    for key, part in done.groupby(groups, sort=True):
        row = dict(zip(groups, key if isinstance(key, tuple) else (key,)))
        row["seeds"] = len(part)
        for metric in metrics:
            values = part[metric].astype(float)
            row[f"{metric}_mean"] = values.mean()
            row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else float("nan")
            row[f"{metric}_min"], row[f"{metric}_max"] = values.min(), values.max()
        rows.append(row)
    return pd.DataFrame(rows)


def summary_markdown(summary: pd.DataFrame, groups: list[str], metrics: list[str] = METRICS) -> str:
    shown = summary[groups + ["seeds"]].copy()
    for metric in metrics:
        shown[metric] = [
            f"{m:.3g} ± {s:.2g} [{lo:.3g}, {hi:.3g}]"
            for m, s, lo, hi in zip(*(summary[f"{metric}_{x}"] for x in ("mean", "std", "min", "max")))
        ]
    return markdown_table(shown, list(shown.columns))


def _jobs(sweep_dir: Path, out: Path) -> pd.DataFrame:
    table = pd.read_csv(out / CSV)
    table["dir"] = [sweep_dir / job for job in table["job"]]
    return table


def _test_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """test/acc and test/balanced_acc from each job's metrics.json (the common table may not carry them)."""
    records = [read_record(d) for d in table["dir"]]
    for column, tag in (("test_acc", tags.TEST_ACC), ("test_balanced_acc", tags.TEST_BALANCED_ACC)):
        table[column] = [record.final.get(tag) if record is not None else None for record in records]
    return table


# ---- names: predictions of a trained network --------------------------------------------------------------


def trained_module(job_dir: Path):
    """The job's task and its network at the end of training, rebuilt from metrics.json's configuration."""
    from rnnlab.training.build import build_module

    record = read_record(job_dir)
    if record is None:
        raise FileNotFoundError(f"{job_dir} has no metrics.json: the run has not ended")
    task, module = build_module(OmegaConf.create(record.config))
    checkpoint = torch.load(job_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    if checkpoint["global_step"] != record.steps:
        raise ValueError(
            f"{job_dir}: last.ckpt is at step {checkpoint['global_step']}, the run ended at {record.steps}"
        )
    module.load_state_dict(checkpoint["state_dict"])
    return task, module.eval()


def test_predictions(task, module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(probabilities (N, C), predicted, true) over the task's test split, in the split's order."""
    probabilities, truths = [], []
    with torch.no_grad():
        for batch in task.test_dataloader():
            logits, target = module.predictions(module.rnn_output(batch), batch)
            probabilities.append(logits.softmax(-1))
            truths.append(target)
    p = torch.cat(probabilities)
    return p, p.argmax(-1), torch.cat(truths)


def confusion_matrix(predicted: torch.Tensor, true: torch.Tensor, classes: int) -> torch.Tensor:
    """counts[i, j]: test examples of class i predicted as j."""
    return torch.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def confusion_figure(counts: torch.Tensor, names: tuple[str, ...], title: str, path: Path) -> Path:
    """Row-normalised (each true class sums to 1: its recall on the diagonal), counts written in the cells."""
    recall = counts.double() / counts.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(8.5, 7.5))
    image = ax.imshow(recall.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), [f"{n} ({int(c)})" for n, c in zip(names, counts.sum(1))])
    for i in range(len(names)):
        for j in range(len(names)):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    int(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if recall[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted language")
    ax.set_ylabel("true language (test names)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of the true class (recall on the diagonal)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def example_predictions(task, p: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, per_class: int = 1) -> str:
    """A Markdown table: for each language, its first test name(s) with the network's top three answers."""
    rows = task.split["test"]
    lines = ["| surname | language | predicted (probability) | |", "|---|---|---|---|"]
    for language in range(task.output_size):
        for k in torch.nonzero(true == language).flatten()[:per_class].tolist():
            top = p[k].topk(3)
            answer = ", ".join(
                f"{task.class_names[c]} ({v:.2f})" for v, c in zip(top.values.tolist(), top.indices.tolist())
            )
            mark = "right" if predicted[k] == true[k] else "wrong"
            lines.append(f"| {task.surnames[int(rows[k])]} | {task.class_names[language]} | {answer} | {mark} |")
    return "\n".join(lines)


def names_extras(sweep_dir: Path, out: Path) -> str:
    table = _test_metrics(_jobs(sweep_dir, out))
    groups = [k for k in ("model", "nonlinearity", "init") if k in table.columns and table[k].nunique() > 1]
    summary = seed_summary(table, groups)
    summary.to_csv(out / "seed_summary.csv", index=False)
    parts = [
        "## Test metrics over seeds",
        "",
        "mean ± std [min, max] over the seeds, on the 1,366 test names:",
        "",
        summary_markdown(summary, groups),
        "",
    ]
    curves = val_acc_curves(table, groups, out / "val_acc_curves.png")
    parts += [f"![validation accuracy]({curves.name})", ""]
    if "model" not in table.columns:
        return "\n".join(parts)
    # the seeds' network itself: concat, tanh, the first seed
    chosen = table[(table["model"] == "concat") & (table["status"] == "completed")]
    if "nonlinearity" in table.columns:
        chosen = chosen[chosen["nonlinearity"] == "tanh"]
    job = chosen.sort_values("seed").iloc[0]
    task, module = trained_module(job["dir"])
    p, predicted, true = test_predictions(task, module)
    counts = confusion_matrix(predicted, true, task.output_size)
    accuracy = float((predicted == true).double().mean())
    assert abs(accuracy - job["test_acc"]) < 1e-6, (accuracy, job["test_acc"])  # the record's number, recomputed
    figure = confusion_figure(
        counts,
        task.class_names,
        f"names, concat (tanh), seed {int(job['seed'])}: test accuracy {accuracy:.3f}",
        out / "confusion_matrix.png",
    )
    parts += [
        "## Confusion matrix and example predictions",
        "",
        f"`{job['job']}`, its final weights on the test split (test accuracy {accuracy:.3f}, recomputed here "
        "from the checkpoint: the same as its metrics.json).",
        "",
        f"![confusion matrix]({figure.name})",
        "",
        example_predictions(task, p, predicted, true),
        "",
    ]
    return "\n".join(parts)


def val_acc_curves(table: pd.DataFrame, groups: list[str], path: Path) -> Path:
    """Validation accuracy against step, a line per job, a colour per group (seeds share their group's colour)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    for index, (key, part) in enumerate(table[table["status"] == "completed"].groupby(groups, sort=True)):
        label = " ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        for line, (_, job) in enumerate(part.iterrows()):
            series = read_scalars(job["dir"]).get(tags.VAL_ACC)
            if series is not None:
                ax.plot(
                    series.index,
                    series.values,
                    color=colours[index % len(colours)],
                    linestyle=styles[index // len(colours) % len(styles)],
                    alpha=0.8,
                    label=label if line == 0 else None,
                )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation accuracy")
    ax.set_title("a line per seed, a colour per group", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- digits: the state rank --------------------------------------------------------------------------------


def digits_extras(sweep_dir: Path, out: Path) -> str:
    table = _test_metrics(_jobs(sweep_dir, out))
    for stat in ("effective_rank", "sigma2_over_sigma1", "dead_fraction"):
        for when, pick in (("init", 0), ("end", -1)):
            table[f"{stat}_{when}"] = [
                float(s.iloc[pick])
                if (s := read_scalars(d).get(tags.state_rank(stat))) is not None and len(s)
                else None
                for d in table["dir"]
            ]
    groups = ["task.mode", "recipe"]
    metrics = [*METRICS, "effective_rank_init", "sigma2_over_sigma1_init", "dead_fraction_init", "effective_rank_end"]
    summary = seed_summary(table, groups, metrics)
    summary.to_csv(out / "seed_summary.csv", index=False)
    figure = state_rank_figure(summary, out / "state_rank.png")
    return "\n".join(
        [
            "## Test accuracy over seeds",
            "",
            "mean ± std [min, max] over the seeds, on the 179 test images:",
            "",
            summary_markdown(summary, groups),
            "",
            "## The final states' rank (rnnlab.diagnostics.StateRank, on a training batch of 64)",
            "",
            "At initialisation (step 0) and at the end; the effective rank is 1 for states that are all multiples of "
            "one vector, and at most 64 here.",
            "",
            summary_markdown(summary, groups, metrics[2:]),
            "",
            f"![state rank]({figure.name})",
            "",
        ]
    )


def state_rank_figure(summary: pd.DataFrame, path: Path) -> Path:
    """Effective rank of the final states at init and at the end, and test accuracy, per recipe and mode."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    modes = sorted(summary["task.mode"].unique())
    recipes = list(dict.fromkeys(summary["recipe"]))
    width = 0.8 / (2 * len(modes))
    for m, mode in enumerate(modes):
        part = summary[summary["task.mode"] == mode].set_index("recipe").loc[recipes]
        for w, (when, hatch) in enumerate((("init", ""), ("end", "//"))):
            offset = (2 * m + w - len(modes) + 0.5) * width
            axes[0].bar(
                [i + offset for i in range(len(recipes))],
                part[f"effective_rank_{when}_mean"],
                width,
                yerr=part.get(f"effective_rank_{when}_std"),
                hatch=hatch,
                color=f"C{m}",
                alpha=0.9 if w else 0.5,
                label=f"{mode}, {'at init' if when == 'init' else 'at the end'}",
            )
        axes[1].bar(
            [i + (m - 0.5) * 0.4 for i in range(len(recipes))],
            part["test_acc_mean"],
            0.4,
            yerr=part["test_acc_std"],
            color=f"C{m}",
            label=mode,
        )
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.7, 100)
    axes[0].axhline(1, color="grey", linestyle=":", label="rank 1")
    axes[0].set_ylabel("effective rank of the final states")
    axes[0].set_title("states at init and after training (log scale)", fontsize=10)
    axes[1].set_ylabel("test accuracy (mean ± std over seeds)")
    axes[1].set_ylim(0, 1)
    axes[1].axhline(0.1, color="grey", linestyle=":", label="majority class")
    axes[1].set_title("test accuracy", fontsize=10)
    for ax in axes:
        ax.set_xticks(range(len(recipes)), recipes)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


STUDY_EXTRAS = {"names": names_extras, "names_init": names_extras, "digits": digits_extras}
