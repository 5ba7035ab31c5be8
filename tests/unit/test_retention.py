"""Retention on real folders: every family of day partitions is cleaned past its retention, the
day itself and later days never, and what monitoring reads back is kept whatever the setting."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from predmaint import cli
from predmaint.cli import app
from predmaint.data.retention import FAMILIES, REPORT_HISTORY_DAYS, clean_up, plan_cleanup
from predmaint.settings import Settings
from predmaint.storage import partition_dir
from tests.support.project import make_settings

DAY = date(2026, 11, 25)


def root(settings: Settings, family: str) -> Path:
    path = getattr(settings, f"{family}_dir")
    assert isinstance(path, Path)
    return path


def fill(settings: Settings, ages: range) -> None:
    """A partition with a file in it for each family and each age (days before ``DAY``)."""
    for family in FAMILIES:
        for age in ages:
            folder = partition_dir(root(settings, family), DAY - timedelta(days=age))
            folder.mkdir(parents=True)
            (folder / "part.parquet").write_bytes(b"x")


def days_left(settings: Settings, family: str) -> list[int]:
    """The ages of the partitions left in a family, youngest first."""
    names = sorted(p.name for p in root(settings, family).glob("ds=*"))
    return sorted((DAY - date.fromisoformat(n.removeprefix("ds="))).days for n in names)


def test_every_family_is_cleaned_past_its_retention_and_never_the_day_or_later(
    tmp_path: Path,
) -> None:
    # given 100 days of partitions (and one day after DAY) in every family, a 40-day retention,
    # and a run's hidden work in progress among them
    settings = make_settings(tmp_path, retention_days=40)
    fill(settings, range(-1, 100))
    busy = settings.predictions_dir / f".ds={DAY - timedelta(days=90)}.abc.tmp"
    busy.mkdir()
    # when cleaning up as of DAY
    plan = clean_up(settings, DAY)
    # then each family keeps DAY - 40 .. DAY and the later day, and nothing else
    for family in FAMILIES:
        assert days_left(settings, family) == list(range(-1, 41)), family
    assert len(plan.expired) == len(FAMILIES) * 59
    assert all(not path.exists() for path in plan.expired)
    assert busy.is_dir(), "work in progress is not a partition"


def test_what_monitoring_reads_back_is_kept_whatever_the_setting(tmp_path: Path) -> None:
    # given a retention of 0 days (keep only the day) and a 45-day monitoring window
    settings = make_settings(tmp_path, retention_days=0, monitoring_window_days=45)
    fill(settings, range(0, 60))
    # when cleaning up
    plan = clean_up(settings, DAY)
    # then predictions, answers served and outcomes of the window stay (they are joined there),
    # monitoring reports for the page's history, and the other families keep only the day
    for family in ("predictions", "served", "outcomes"):
        assert days_left(settings, family) == list(range(46)), family
    assert days_left(settings, "monitoring") == list(range(REPORT_HISTORY_DAYS + 1))
    for family in ("processed", "quarantine", "inference", "reports"):
        assert days_left(settings, family) == [0], family
    # and the plan says why a family kept more than the setting
    kept = {f.family: (f.keep_days, f.configured_days, f.floor_reason) for f in plan.families}
    assert kept["served"] == (45, 0, "the monitoring window needs 45 days")
    assert kept["reports"] == (0, 0, None)


def test_retention_is_set_per_family(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        retention_days=10,
        retention_days_per_family={"reports": 50, "inference": 2, "served": 5},
    )
    fill(settings, range(0, 60))
    clean_up(settings, DAY)
    assert days_left(settings, "reports") == list(range(51))
    assert days_left(settings, "inference") == [0, 1, 2]
    assert days_left(settings, "processed") == list(range(11))
    # a family monitoring reads cannot go below the window (30 by default)
    assert days_left(settings, "served") == list(range(31))


def test_a_dry_run_lists_what_a_cleanup_removes_and_removes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_days=3)
    fill(settings, range(0, 40))
    before = sorted(str(p) for p in settings.data_root.rglob("*"))
    planned = plan_cleanup(settings, DAY)
    assert sorted(str(p) for p in settings.data_root.rglob("*")) == before
    assert clean_up(settings, DAY).expired == planned.expired
    assert planned.expired and not any(path.exists() for path in planned.expired)


@pytest.mark.parametrize(
    "value", [{"predictons": 3}, {"served": -1}], ids=["unknown family", "negative"]
)
def test_a_bad_family_setting_names_the_setting_and_the_families(
    tmp_path: Path, value: dict[str, int]
) -> None:
    with pytest.raises(ValidationError, match="retention_days_per_family maps families"):
        make_settings(tmp_path, retention_days_per_family=value)


def test_the_cleanup_command_has_a_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a home with 40 days of partitions and a 3-day retention
    settings = make_settings(tmp_path, retention_days=3)
    fill(settings, range(0, 40))
    monkeypatch.setenv("PREDMAINT_HOME", str(tmp_path))
    monkeypatch.setenv("PREDMAINT_RETENTION_DAYS", "3")
    # a wide console, whenever the CLI's console was made (COLUMNS is read once, at its first use)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.chdir(tmp_path)
    # when the command runs dry, then it lists what it would remove and removes nothing
    dry = CliRunner().invoke(app, ["cleanup", "--date", DAY.isoformat(), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    oldest = partition_dir(settings.reports_dir, DAY - timedelta(days=39))
    unwrapped = dry.output.replace("\n", "")  # rich wraps long paths at the console's width
    assert f"would remove {oldest}" in unwrapped and oldest.is_dir()
    assert "the monitoring window needs 30 days" in " ".join(dry.output.split())
    # and for real it removes them
    real = CliRunner().invoke(app, ["cleanup", "--date", DAY.isoformat()])
    assert real.exit_code == 0, real.output
    assert f"removed {oldest}" in real.output and not oldest.exists()
    assert days_left(settings, "reports") == [0, 1, 2, 3]
    assert os.listdir(settings.served_dir) and days_left(settings, "served") == list(range(31))
