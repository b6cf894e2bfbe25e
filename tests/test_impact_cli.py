"""``socialrank estimate`` on panel files: JSON shape, the reference numbers, tables, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import build_parser
from pipeline.cli_support import json_output
from pipeline.config import Settings
from pipeline.impact_cli import EXIT_OK, EXIT_USAGE

MPDTA = ["--unit", "countyreal", "--time", "year", "--outcome", "lemp", "--cohort", "first.treat"]


def _run(argv: list[str], settings: Settings) -> int:
    """``socialrank estimate ...`` through the CLI's own parser, with these settings."""
    args = build_parser().parse_args(["estimate", *argv])
    json_output.printed = False  # a new command, as in the CLI's main
    code: int = args.handler(settings, args)
    return code


@pytest.fixture(scope="module")
def mpdta_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import moderndid

    panel: pl.DataFrame = moderndid.load_mpdta()
    folder = tmp_path_factory.mktemp("panels")
    panel.write_csv(folder / "mpdta.csv")
    panel.write_parquet(folder / "mpdta.parquet")
    return {"csv": folder / "mpdta.csv", "parquet": folder / "mpdta.parquet"}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_json_output_holds_group_time_effects_and_aggregates(
    kind: str, mpdta_files: dict[str, Path], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--panel", str(mpdta_files[kind]), *MPDTA, "--json"], settings) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    cells = {(row["group"], row["time"]): row for row in result["group_time"]}
    assert len(cells) == 12 and round(cells[(2004, 2006)]["att"], 4) == -0.1373
    assert set(cells[(2004, 2006)]) == {"group", "time", "att", "se", "ci_low", "ci_high"}
    aggregates = result["aggregates"]
    assert set(aggregates) == {"simple", "dynamic", "group"}
    assert round(aggregates["simple"]["att"], 4) == -0.0400
    assert [row["event_time"] for row in aggregates["dynamic"]["by_event_time"]] == [-3, -2, -1, 0, 1, 2, 3]
    assert [row["group"] for row in aggregates["group"]["by_group"]] == [2004, 2006, 2007]
    assert result["panel"]["units"] == 500 and result["control_group"] == "never"
    assert 0 < result["pretrend"]["p_value"] < 1


def test_options_change_the_design(
    mpdta_files: dict[str, Path], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--panel", str(mpdta_files["parquet"]), *MPDTA, "--json", "--control", "notyet"]
    argv += [
        "--base-period",
        "universal",
        "--min-event",
        "-2",
        "--max-event",
        "2",
        "--no-small-sample-correction",
    ]
    assert _run(argv, settings) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert (result["control_group"], result["base_period"], result["small_sample_correction"]) == (
        "notyet",
        "universal",
        False,
    )
    events = {row["event_time"]: row for row in result["aggregates"]["dynamic"]["by_event_time"]}
    assert sorted(events) == [-2, -1, 0, 1, 2]
    assert events[-1]["att"] == 0 and events[-1]["se"] is None  # the universal base period
    assert events[0]["se"] == pytest.approx(events[0]["se_did"]) and events[0]["df"] is None
    assert events[0]["band_low"] < events[0]["ci_low"] < events[0]["ci_high"] < events[0]["band_high"]


def test_tables_without_json(
    mpdta_files: dict[str, Path], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--panel", str(mpdta_files["csv"]), *MPDTA], settings) == EXIT_OK
    out = capsys.readouterr().out
    for text in ("Group-time effects", "2004, 2006", "-0.1373", "Event study", "By cohort", "Pre-trend test"):
        assert text in out


def test_bad_panels_exit_2_naming_file_and_reason(
    mpdta_files: dict[str, Path], settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    assert _run(["--panel", str(tmp_path / "missing.csv"), *MPDTA], settings) == EXIT_USAGE
    assert "missing.csv: no such file" in caplog.text
    text_file = tmp_path / "panel.txt"
    text_file.write_text("a,b\n1,2\n")
    assert _run(["--panel", str(text_file), *MPDTA], settings) == EXIT_USAGE
    assert "expected a .csv or .parquet file" in caplog.text
    argv = ["--panel", str(mpdta_files["csv"]), *MPDTA[:-1], "treat_year"]
    assert _run(argv, settings) == EXIT_USAGE
    assert "column(s) treat_year not in the panel" in caplog.text
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert _run(["--panel", str(broken), *MPDTA], settings) == EXIT_USAGE
    assert "broken.parquet: cannot read it" in caplog.text


def test_an_unbalanced_panel_with_clusters_and_anticipation_is_estimated(
    mpdta_files: dict[str, Path], settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fifth of the county-years missing: every county with two or more years stays in, each comparison
    uses the counties seen in both its years; states as clusters; one year of anticipation."""
    import numpy as np

    panel = pl.read_parquet(mpdta_files["parquet"])
    kept = panel.filter(pl.Series(np.random.default_rng(1).random(panel.height) >= 0.2))
    kept = kept.with_columns((pl.col("countyreal") // 1000).alias("state"))
    path = tmp_path / "gappy.parquet"
    kept.write_parquet(path)
    argv = ["--panel", str(path), *MPDTA, "--json", "--cluster", "state", "--anticipation", "1"]
    assert _run(argv, settings) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    counties = kept.group_by("countyreal").agg(
        pl.len().alias("years"), pl.col("year").min().alias("first_year"), pl.col("first.treat").first()
    )
    seen_twice = counties.filter(pl.col("years") >= 2)
    # With a year of anticipation a county needs a year before the one before its treatment.
    too_late = seen_twice.filter(
        (pl.col("first.treat") > 0) & (pl.col("first_year") >= pl.col("first.treat") - 1)
    )
    assert (
        result["panel"]["units"] + result["panel"]["dropped_units_treated_from_the_start"]
        == seen_twice.height
    )
    assert result["panel"]["dropped_units_treated_from_the_start"] == too_late.height > 0
    assert result["panel"]["unit_periods_missing"] > 0 and result["anticipation"] == 1
    estimated = seen_twice.join(too_late, on="countyreal", how="anti")
    assert result["panel"]["clusters"] == (estimated["countyreal"] // 1000).n_unique()
    events = {row["event_time"]: row for row in result["aggregates"]["dynamic"]["by_event_time"]}
    assert -2 in events and events[-1]["att"] is not None  # the anticipation year is estimated
