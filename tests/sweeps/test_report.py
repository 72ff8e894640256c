"""The report on a sweep directory built by hand: the table's numbers, the gradient columns from TensorBoard events,
jobs still running, and the plots."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
import yaml
from torch.utils.tensorboard import SummaryWriter

from rnnlab.record.jobs import find_jobs
from rnnlab.record.run_record import RunRecord, write_metrics
from rnnlab.sweeps.job_statuses import summary_lines
from rnnlab.sweeps.report_files import main, write_report
from rnnlab.sweeps.table import GRAD_RATIO_TAG, grad_through_time, read_scalars


def make_job(sweep_dir, overrides, metrics=None, grad_decay=None):
    """A job directory as rnnlab.train leaves it; `grad_decay`: ‖dL/dh_t‖ = grad_decay ** (T - 1 - t) at 2 steps."""
    job_dir = sweep_dir / ",".join(overrides)
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    writer = SummaryWriter(str(job_dir))
    for step in (0, 10):
        writer.add_scalar("val/loss", 1.0 / (step + 1), step)
        if grad_decay is not None:
            decay = grad_decay * (1 + step / 10)  # the ratio changes during training
            for t in (0, 4, 9):
                writer.add_scalar(f"grad_h/layer0/t{t}", decay ** (9 - t), step)
            writer.add_scalar(GRAD_RATIO_TAG, 9 * math.log10(decay), step)
    writer.close()
    if metrics is not None:
        write_metrics(job_dir, metrics)
    return job_dir


def metrics(status, final=None, best=None, **extra) -> RunRecord:
    return RunRecord.from_json(
        {
            "status": status,
            "steps": 10,
            "baseline": 0.5,
            "final": {"val/loss": final} if final else {},
            "best": {"val/loss": best} if best else {},
            "config": {},
            "timing": {"wall_time_s": 1.5, "resumed_from_step": None},
            **extra,
        }
    )


@pytest.fixture
def sweep_dir(tmp_path):
    sweep = tmp_path / "sweep"
    make_job(sweep, ["init_scale=0.1", "nonlinearity=tanh"], metrics("completed", 0.4, 0.3), grad_decay=0.5)
    make_job(sweep, ["init_scale=1.0", "nonlinearity=tanh"], metrics("completed", 0.1, 0.1), grad_decay=1.0)
    make_job(sweep, ["init_scale=10", "nonlinearity=tanh"], metrics("diverged", None, 0.45, diverged_at_step=3))
    make_job(sweep, ["init_scale=0.1", "nonlinearity=relu"], metrics("failed", error="ValueError: bad"))
    make_job(sweep, ["init_scale=1.0", "nonlinearity=relu"])  # still running: no metrics.json
    return sweep


def test_the_table_holds_every_job_with_its_numbers(sweep_dir, tmp_path):
    written = write_report(sweep_dir, tmp_path / "out")
    table = pd.read_csv(written["csv"])
    assert list(table.columns[:3]) == ["job", "init_scale", "nonlinearity"]
    assert list(zip(table.init_scale, table.nonlinearity, table.status)) == [
        (0.1, "relu", "failed"),
        (0.1, "tanh", "completed"),
        (1.0, "relu", "incomplete"),
        (1.0, "tanh", "completed"),
        (10.0, "tanh", "diverged"),
    ]
    tanh_small = table.iloc[1]
    assert tanh_small.final_val_loss == 0.4 and tanh_small.best_val_loss == 0.3
    assert tanh_small.final_over_baseline == pytest.approx(0.8)
    # log10 of the first/last ratio, at the first logged step (0.5 ** 9) and the last (1.0 ** 9)
    assert tanh_small.grad_log10_ratio_start == pytest.approx(9 * math.log10(0.5), rel=1e-6)
    assert tanh_small.grad_log10_ratio_end == pytest.approx(0.0, abs=1e-6)
    assert table.iloc[4].diverged_at_step == 3 and pd.isna(table.iloc[4].grad_log10_ratio_start)
    assert table.iloc[0].error == "ValueError: bad"
    markdown = written["markdown"].read_text()
    assert "5 jobs: 1 diverged, 1 failed, 1 incomplete, 2 completed" not in markdown  # sorted by status name
    assert "5 jobs: 2 completed, 1 diverged, 1 failed, 1 incomplete." in markdown
    assert "| 0.1 | tanh | completed | 10 | 0.4 | 0.3 | 0.5 | 0.8 | 0.6 |" in markdown
    for name in ("final_loss", "grad_through_time", "learning_curves"):
        assert written[name].read_bytes()[:4] == b"\x89PNG"


def test_gradients_through_time_are_read_from_the_events(sweep_dir):
    job = next(j for j in find_jobs(sweep_dir) if j.name == "init_scale=0.1,nonlinearity=tanh")
    scalars = read_scalars(job.dir)
    first, last = grad_through_time(scalars, "first"), grad_through_time(scalars, "last")
    assert list(first.index) == [0, 4, 9]
    assert first.tolist() == pytest.approx([9 * math.log10(0.5), 5 * math.log10(0.5), 0.0], abs=1e-6)  # log10
    assert last.tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_without_diagnostics_the_report_has_no_gradient_plot(tmp_path):
    sweep = tmp_path / "sweep"
    make_job(sweep, ["init_scale=0.1"], metrics("completed", 0.4, 0.3))
    make_job(sweep, ["init_scale=1.0"], metrics("completed", 0.2, 0.2))
    written = write_report(sweep)
    assert "grad_through_time" not in written and (sweep / "final_loss.png").exists()
    assert pd.read_csv(written["csv"]).grad_log10_ratio_start.isna().all()


def test_the_summary_lists_each_failure_and_each_job_that_never_ended(sweep_dir):
    lines = summary_lines(sweep_dir, find_jobs(sweep_dir))
    assert lines[0].endswith("5 jobs: 2 completed, 1 diverged, 1 failed, 1 incomplete")
    assert lines[1:] == [
        "  FAILED init_scale=0.1,nonlinearity=relu: ValueError: bad",
        "  INCOMPLETE init_scale=1.0,nonlinearity=relu: no metrics.json: the job was killed before it ended",
    ]


def test_a_missing_directory_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "no sweep directory" in capsys.readouterr().err


# ---- corrupt results and a summary that cannot be made -----------------------------------------------------


@pytest.mark.parametrize("content", [b"", b'{"status": "compl', b"{}", b"[]", bytes(range(256))])
def test_a_corrupt_metrics_json_is_a_corrupt_job_in_the_table_the_report_and_the_summary(sweep_dir, content, tmp_path):
    job_dir = sweep_dir / "init_scale=1.0,nonlinearity=tanh"
    (job_dir / "metrics.json").write_bytes(content)
    job = {j.name: j for j in find_jobs(sweep_dir)}["init_scale=1.0,nonlinearity=tanh"]
    assert job.status == "corrupt" and job.record is None and str(job_dir / "metrics.json") in job.error
    written = write_report(sweep_dir, tmp_path / "report")
    table = pd.read_csv(written["csv"])
    assert table.set_index("job").loc["init_scale=1.0,nonlinearity=tanh", "status"] == "corrupt"
    markdown = written["markdown"].read_text()
    assert "1 corrupt" in markdown and "`init_scale=1.0,nonlinearity=tanh` (corrupt)" in markdown
    lines = summary_lines(sweep_dir, find_jobs(sweep_dir))
    assert any(line.startswith("  CORRUPT init_scale=1.0,nonlinearity=tanh: ") for line in lines)


def test_a_summary_that_cannot_be_made_fails_the_sweep_in_one_line(sweep_dir, monkeypatch, capsys):
    from omegaconf import OmegaConf

    from rnnlab.sweeps import job_statuses

    def broken(_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(job_statuses, "find_jobs", broken)
    with pytest.raises(SystemExit) as exit_:
        job_statuses.SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}}))
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no summary could be made (PermissionError" in err[0]


def test_the_summary_of_a_sweep_with_a_corrupt_job_exits_1(sweep_dir, capsys):
    from omegaconf import OmegaConf

    from rnnlab.sweeps.job_statuses import SweepSummary

    for job_dir in sweep_dir.iterdir():  # every job finished, one of them with a corrupt record
        if not (job_dir / "metrics.json").exists() or "relu" in job_dir.name:
            (job_dir / "metrics.json").write_text("[]")
    with pytest.raises(SystemExit) as exit_:
        SweepSummary().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}}))
    assert exit_.value.code == 1 and "2 corrupt" in capsys.readouterr().err


# ---- seeds and spread, bounds, comparisons, reproducible files ----------------------------------------------------


def seeded_sweep(root, name="sweep", shift=0.0, bound_seed=None):
    """init_scale {0.5, 1.0} x nonlinearity {tanh, relu} x seed {0, 1, 2}: final = 0.1 * (1 + seed) + shift; the
    first layer's ratio -100 - seed, a float64 bound (-1) for `bound_seed`."""
    sweep = root / name
    for scale in ("0.5", "1.0"):
        for nonlinearity in ("relu", "tanh"):
            for seed in range(3):
                overrides = [f"init_scale={scale}", f"nonlinearity={nonlinearity}", f"seed={seed}"]
                job = make_job(sweep, overrides, metrics("completed", 0.1 * (1 + seed) + shift, 0.05))
                writer = SummaryWriter(str(job))
                writer.add_scalar(GRAD_RATIO_TAG, -100.0 - seed, 0)
                writer.add_scalar(GRAD_RATIO_TAG.replace("log10_first_over_last", "log10_first_over_last_bound"),
                                  -1.0 if seed == bound_seed else 0.0, 0)  # fmt: skip
                for t in (0, 9):
                    writer.add_scalar(f"grad_h/layer0/log10_t{t}", (-100.0 - seed) * (9 - t) / 9, 0)
                writer.close()
    return sweep


def test_a_seed_axis_is_reported_per_group_with_mean_and_spread(tmp_path):
    written = write_report(seeded_sweep(tmp_path, bound_seed=2), tmp_path / "out")
    markdown = written["markdown"].read_text()
    # groups: the varied keys but seed; final 0.1, 0.2, 0.3 over baseline 0.5: 0.2, 0.4, 0.6
    assert "| init_scale | nonlinearity | seeds | completed | final_over_baseline |" in markdown
    assert (
        "| 0.5 | relu | 3 | 3 | 0.4 ± 0.2 (0.2 – 0.6) | 0.1 ± 0 (0.1 – 0.1) | < −101 ± 1 (< −102 – −100) |" in markdown
    )
    # seed 2's ratio was a bound: the group's mean and min are bounds, the job's cell too, never a bare value
    assert "< −101 ± 1 (< −102 – −100)" in markdown
    assert "| 0.5 | relu | 2 | completed |" in markdown and "| < -102 |" in markdown


def test_sweeps_are_compared_side_by_side_labelled_by_sweep(tmp_path, capsys):
    a, b = seeded_sweep(tmp_path, "before"), seeded_sweep(tmp_path, "after", shift=1.0)
    assert main([str(a), str(b)]) == 2
    assert "--out is required when comparing several sweeps" in capsys.readouterr().err
    assert main([str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    table = pd.read_csv(tmp_path / "cmp" / "jobs.csv")
    assert list(table.columns[:5]) == ["job", "sweep", "init_scale", "nonlinearity", "seed"]
    assert len(table) == 24 and set(table["sweep"]) == {"before", "after"}
    markdown = (tmp_path / "cmp" / "report.md").read_text()
    assert "| before | 0.5 | relu | 3 | 3 | 0.4 ± 0.2 (0.2 – 0.6) |" in markdown
    assert "| after | 0.5 | relu | 3 | 3 | 2.4 ± 0.2 (2.2 – 2.6) |" in markdown


def test_re_reporting_the_same_jobs_rewrites_the_same_bytes_and_no_timing(tmp_path):
    sweep = seeded_sweep(tmp_path)
    first = {k: p.read_bytes() for k, p in write_report(sweep, tmp_path / "one").items()}
    for job in find_jobs(sweep):  # only the wall time changes
        assert job.record is not None
        write_metrics(job.dir, replace(job.record, timing={"wall_time_s": 99.0, "resumed_from_step": None}))
    second = {k: p.read_bytes() for k, p in write_report(sweep, tmp_path / "one").items()}
    assert first == second and set(first) >= {"csv", "markdown", "final_loss", "grad_through_time"}
    assert b"wall_time" not in first["csv"] and "99.0" in (tmp_path / "one" / "timings.csv").read_text()
    assert not list((tmp_path / "one").glob(".*.tmp"))  # written beside, renamed: nothing left over


def test_labels_are_whole_and_categorical_studies_get_categorical_axes(tmp_path):
    from rnnlab.sweeps.plots import axis_and_panels, label

    text = label(["bidirectional", "num_layers", "model"], (False, 2, "bidirectional"))
    assert text.replace("\n", " ") == "bidirectional=False, num_layers=2, model=bidirectional"
    assert all(len(line) <= 28 for line in text.splitlines())
    sweep = tmp_path / "cat"
    for model in ("torch", "concat"):
        for seed in range(2):
            make_job(sweep, [f"model={model}", f"seed={seed}"], metrics("completed", 0.2, 0.1))
    table, _ = __import__("rnnlab.sweeps.table", fromlist=["sweep_table"]).sweep_table(sweep)
    assert axis_and_panels(table) == (None, ["model"])  # no numeric key but seed: categorical
