"""A sweep prints the lab's lines only: no Hydra launch lines, no Lightning warning for the job that diverges."""

from tests.sweeps.test_sweep_cli import progress_lines, sweep


def test_a_sweep_with_a_diverging_job_prints_only_the_labs_lines(tmp_path):
    run = sweep(tmp_path / "sweep", "nonlinearity=relu", "init=normal", "init_scale=0.5,1e20")
    assert run.returncode == 0, run.stderr[-2000:]
    printed = run.stdout + run.stderr
    assert "[HYDRA]" not in printed and "#1 :" not in printed
    assert "returned `None`" not in printed
    lines = progress_lines(run)
    assert len(lines) == 2 and "diverged" in lines[1] and "completed" in lines[0], run.stdout


def test_alembics_plugin_lines_are_quiet_and_warnings_still_pass(caplog):
    """An Optuna search with a SQL storage (alembic) printed a `setup plugin …` line per plugin."""
    import logging

    from rnnlab.training.console import quiet_third_party

    logger = logging.getLogger("alembic.runtime.plugins")
    saved = logging.getLogger("alembic").level
    try:
        quiet_third_party()
        with caplog.at_level(logging.INFO):
            logger.info("setup plugin %s", "alembic.autogenerate.schemas")
            logger.warning("a real problem")
        assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == ["a real problem"]
    finally:
        logging.getLogger("alembic").setLevel(saved)
