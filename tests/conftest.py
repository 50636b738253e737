"""Shared fixtures. Hypothesis is derandomized so that the suite is reproducible run to run."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from _support import DEMO
from scorelab.cli import app

settings.register_profile("scorelab", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("scorelab")

@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def demo(tmp_path_factory, runner):
    """The demo command at small size, run once: `scorelab run unified ... --out <tmp>`."""
    out = tmp_path_factory.mktemp("demo") / "runs"
    result = runner.invoke(app, ["run", "unified", "--citizens", str(DEMO["citizens"]), "--days", str(DEMO["days"]),
                                 "--seed", str(DEMO["seed"]), "--runs", str(out)])
    return result, out


@pytest.fixture(scope="session")
def demo_run(demo) -> Path:
    """The regime run folder of the demo (not its baseline)."""
    result, out = demo
    assert result.exit_code == 0, result.output
    folders = [p for p in out.iterdir() if p.is_dir() and "--baseline-" not in p.name]
    assert len(folders) == 1
    return folders[0]


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray with 2 CPUs, started once for the whole suite (the experiments' `ray` executor
    joins it instead of starting its own)."""
    import os

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()
