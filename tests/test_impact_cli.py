"""``socialrank estimate`` on panel files: JSON shape, the reference numbers, tables, clear errors."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import polars as pl
import pytest

from pipeline.cli_support import Handler
from pipeline.config import Settings
from pipeline.impact_cli import EXIT_OK, EXIT_USAGE, add_estimate_parser

MPDTA = ["--unit", "countyreal", "--time", "year", "--outcome", "lemp", "--cohort", "first.treat"]


def _parser() -> argparse.ArgumentParser:
    """The CLI's registration contract: ``add(name, handler, help)`` returns the subcommand's parser."""
    parser = argparse.ArgumentParser(prog="socialrank")
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    add_estimate_parser(add)
    return parser


def _run(argv: list[str], settings: Settings) -> int:
    args = _parser().parse_args(["estimate", *argv])
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
    assert events[0]["se"] == events[0]["se_did"] and events[0]["df"] is None


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
