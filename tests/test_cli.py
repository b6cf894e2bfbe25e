"""The ``socialrank`` command: every stage without Airflow, clear errors and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline import scorecard
from pipeline.cli import EXIT_DATA, EXIT_OK, EXIT_USAGE, build_parser, main
from tests import claims_fixture
from tests.conftest import SAMPLE_CONFIG, SAMPLE_DELIVERIES

COMMANDS = (
    "init",
    "demo-data",
    "ingest",
    "build",
    "check",
    "publish",
    "report",
    "run",
    "status",
    "fetch",
    "crawl",
    "fetch-gsc",
    "inspect",
    "estimate",
    "purge",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root, and the sample data's configuration in the current folder."""
    monkeypatch.setenv("SOCIALRANK_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(SAMPLE_CONFIG, tmp_path / "socialrank.toml")
    return tmp_path / "data"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert command in out and "--json" in out


def test_stage_by_stage_then_status(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-data"]) == EXIT_OK
    assert main(["demo-data", "--if-empty"]) == EXIT_OK  # leaves the landing zone alone
    assert main(["ingest", "--json"]) == EXIT_OK
    ingested = json.loads(capsys.readouterr().out)
    assert ingested["by_status"] == {"ingested": SAMPLE_DELIVERIES}
    assert main(["build", "--date", "2026-11-01"]) == EXIT_OK
    assert main(["publish"]) == EXIT_USAGE  # not gated yet
    assert main(["check", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["success"] is True
    assert main(["publish"]) == EXIT_OK
    assert main(["report"]) == EXIT_OK
    assert main(["status"]) == EXIT_OK
    out = capsys.readouterr().out
    assert str(home / "warehouse" / "warehouse.duckdb") in out
    assert "data_docs" in out and "socialrank-report.html" in out
    assert "mart.impact_estimates" in out


def test_clear_errors_and_exit_codes(home: Path, tmp_path: Path) -> None:
    assert main(["status"]) == EXIT_USAGE
    assert main(["check"]) == EXIT_USAGE
    assert main(["--config", str(tmp_path / "missing.toml"), "ingest"]) == EXIT_USAGE
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\ntimezone = "Mars/Olympus"\n')
    assert main(["--config", str(bad), "ingest"]) == EXIT_USAGE
    with pytest.raises(SystemExit) as exited:
        main(["run", "--date", "yesterday"])
    assert exited.value.code == 2


def test_run_reports_a_failed_gate_with_exit_code_1(home: Path) -> None:
    landing = home / "landing" / "rankings" / "tracker"
    landing.mkdir(parents=True)
    # The parser accepts positions up to 1000; the gate holds this site's data to 1..100.
    (landing / "positions.csv").write_text(
        "date,keyword,url,position\n2026-10-01,shoes,https://example.com/s,150\n"
    )
    assert main(["run", "--date", "2026-11-01"]) == EXIT_DATA
    assert not (home / "warehouse" / "warehouse.duckdb").exists()


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("socialrank")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert command in result.stdout


def test_large_world_and_its_next_night_from_the_cli(home: Path) -> None:
    landing = home / "landing"
    assert main(["demo-data", "--scale", "large", "--scale-factor", "0.0002"]) == EXIT_OK
    world = json.loads((landing / ".large-world.json").read_text())
    assert world["scale"] == 0.0002 and world["counts"]["rankings"] > 0
    written = {path for path in landing.rglob("*") if path.is_file()}
    next_day = (dt.date.fromisoformat(world["last_day"]) + dt.timedelta(days=1)).isoformat()
    assert main(["demo-data", "--scale", "large", "--next-day", next_day]) == EXIT_OK
    added = {path for path in landing.rglob("*") if path.is_file()} - written
    assert any(next_day in path.name for path in added), sorted(path.name for path in added)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"socialrank \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_json_mode_prints_one_document_and_nothing_else(
    published_demo_world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = tmp_path / "world"
    shutil.copytree(published_demo_world, world)
    monkeypatch.setenv("SOCIALRANK_HOME", str(world / "data"))
    config = ["--config", str(SAMPLE_CONFIG)]
    capsys.readouterr()
    assert main([*config, "status", "--json"]) == EXIT_OK
    status = json.loads(capsys.readouterr().out)
    assert status["manifest"]["as_of"] == "2026-11-01" and status["answers"] and status["estimates"]
    assert main([*config, "report", "--json"]) == EXIT_OK
    assert Path(json.loads(capsys.readouterr().out)["report"]).is_file()
    assert main([*config, "demo-data", "--if-empty", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {
        "landing": str(world / "data" / "landing"),
        "written": False,
        "files": [],
    }
    assert (
        main([*config, "publish", "--json"]) == EXIT_USAGE
    )  # nothing built since: the error as the document
    failed = json.loads(capsys.readouterr().out)
    assert failed["exit_code"] == EXIT_USAGE and "socialrank build" in failed["error"]


def _land_rankings(home: Path, rows: str) -> Path:
    landing = home / "landing" / "rankings" / "tracker"
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / "positions.csv"
    path.write_text("date,keyword,url,position\n" + rows)
    return path


def _nothing_published(home: Path) -> bool:
    return (
        not (home / "warehouse" / "warehouse.duckdb").exists()
        and not (home / "warehouse" / "published.json").exists()
    )


def test_a_run_that_kept_nothing_of_a_delivery_fails_and_publishes_nothing(
    home: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dates no layout reads (day 31 of February, day-first or month-first): every record is quarantined.
    path = _land_rankings(
        home, "31/02/2026,shoes,https://example.com/s,3\n30/02/2026,shoes,https://example.com/s,4\n"
    )
    assert main(["run", "--date", "2026-11-01"]) == EXIT_DATA
    said = caplog.text
    assert "kept no record of landing/rankings/tracker/positions.csv" in said
    assert "all 2 records quarantined, e.g. positions.csv line 2: unparseable date '31/02/2026'" in said
    assert f"Look at it with 'socialrank inspect {path}'" in said
    assert "nothing was built or published" in said
    assert _nothing_published(home) and not list(home.glob("warehouse/builds/*.duckdb"))  # not even built
    assert len(list((home / "runs").glob("failure-*-ingest.json"))) == 1

    # Run again: the delivery is in the ledger, so the run goes on to build, and the gate refuses a
    # warehouse without a ranking row (its minimum stays 1 although the lake holds no ranking).
    caplog.clear()
    assert main(["run", "--date", "2026-11-01"]) == EXIT_DATA
    assert "core.rankings_daily: the warehouse holds no ranking row" in caplog.text
    assert "socialrank inspect <file>" in caplog.text
    assert _nothing_published(home)
    capsys.readouterr()


def test_an_empty_landing_zone_fails_the_run(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["run", "--date", "2026-11-01"]) == EXIT_DATA
    assert f"the landing zone {home / 'landing'} holds no delivery" in caplog.text
    assert "socialrank demo-data" in caplog.text
    assert _nothing_published(home)


def test_rankings_without_an_owned_page_fail_the_gate(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The configuration's owned site is example.com (the default); the rank export is another site's.
    _land_rankings(
        home, "2026-10-01,shoes,https://www.mysite.io/s,3\n2026-10-02,shoes,https://www.mysite.io/s,4\n"
    )
    assert main(["run", "--date", "2026-11-01"]) == EXIT_DATA
    assert "quality gate failed for mart.impact_panel (mart.impact_panel: no owned page ranks" in caplog.text
    assert "check [site] owned_sites" in caplog.text
    assert _nothing_published(home)


def test_freshness_says_data_through_the_last_ranking_day_and_warns_when_stale(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _land_rankings(
        home, "2026-10-01,shoes,https://example.com/s,3\n2026-10-02,shoes,https://example.com/s,4\n"
    )
    assert main(["run", "--date", "2026-11-01", "--json"]) == EXIT_OK
    result = json.loads(capsys.readouterr().out)  # one document, nothing else
    published = result["publish"]
    assert (published["data_through"], published["as_of"], published["days_behind"]) == (
        "2026-10-02",
        "2026-11-01",
        30,
    )
    assert published["stale"] is True and "[freshness] stale_after_days = 7" in published["warning"]
    assert result["build"]["data_through"] == "2026-10-02"
    manifest = json.loads((home / "warehouse" / "published.json").read_text())
    assert (manifest["data_through"], manifest["as_of"]) == ("2026-10-02", "2026-11-01")
    assert main(["status"]) == EXIT_OK
    status = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "data through 2026-10-02; built for 2026-11-01" in status
    assert "stale data: the newest ranking day, 2026-10-02, is 30 days before 2026-11-01" in status
    assert "stale data" in caplog.text  # the run's log says so too
    report = (home / "reports" / "socialrank-report.html").read_text()
    assert "data through 2026-10-02; built for 2026-11-01" in report and "stale data" in report

    relaxed = tmp_path / "relaxed.toml"
    relaxed.write_text("[freshness]\nstale_after_days = 30\n")
    assert main(["--config", str(relaxed), "status"]) == EXIT_OK
    status = " ".join(capsys.readouterr().out.split())
    assert "data through 2026-10-02; built for 2026-11-01" in status and "stale" not in status
    relaxed.write_text("[freshness]\nstale_after_days = -1\n")
    assert main(["--config", str(relaxed), "status"]) == EXIT_USAGE


def _copy_with_claims(
    published: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claims: tuple[tuple[object, ...], ...] | None,
) -> list[str]:
    """A copy of the published sample world with ``claims`` as its ``mart.claims`` (None: without the
    table, as an older version built it); the arguments that point ``socialrank`` at it."""
    world = tmp_path / "world"
    shutil.copytree(published, world)
    monkeypatch.setenv("SOCIALRANK_HOME", str(world / "data"))
    warehouse = world / "data" / "warehouse" / "warehouse.duckdb"
    if claims is None:
        con = duckdb.connect(str(warehouse))
        try:
            con.execute("DROP VIEW mart.claims")
        finally:
            con.close()
    else:
        claims_fixture.write_claims(warehouse, claims)
    return ["--config", str(SAMPLE_CONFIG)]


def test_status_opens_with_the_scorecard(
    published_demo_world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _copy_with_claims(published_demo_world, tmp_path, monkeypatch, claims_fixture.ROWS)
    capsys.readouterr()
    assert main([*config, "status"]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    places = [out.index("the scorecard")]
    overall = [row for row in claims_fixture.in_claim_order() if row["platform"] == "any"]
    for row in overall:
        places.append(out.index(f"{row['verdict']} {row['sentence']} {row['reason']}"))
    places += [out.index("mart.claims per platform"), out.index("the answer (position")]
    places.append(out.index("mart.impact_estimates (outcome: position"))
    assert places == sorted(places), places
    # The mart's words are printed as they are: "[ga4]" is not taken for rich markup.
    assert "set [ga4] property_id in socialrank.toml" in out
    table = out[out.index("mart.claims per platform") : out.index("the answer (position")]
    for words in ("LinkedIn", "Reddit", "inconclusive", "supported", "no estimate", "+0.42"):
        assert words in table, words

    assert main([*config, "status", "--json"]) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["claims"] == claims_fixture.in_claim_order()
    assert list(document["claims"][0]) == list(claims_fixture.COLUMNS)
    assert document["claims_missing"] is None and document["answers"] and document["estimates"]


@pytest.mark.parametrize("claims", [None, ()], ids=["no table", "empty table"])
def test_status_of_a_warehouse_without_a_scorecard_says_so(
    published_demo_world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    claims: tuple[tuple[object, ...], ...] | None,
) -> None:
    config = _copy_with_claims(published_demo_world, tmp_path, monkeypatch, claims)
    capsys.readouterr()
    assert main([*config, "status"]) == EXIT_OK
    out = " ".join(capsys.readouterr().out.split())
    said = out.index("the scorecard (mart.claims")
    assert out.index("no scorecard in this warehouse: run socialrank build", said) < out.index("the answer")
    assert "mart.claims per platform" not in out
    assert main([*config, "status", "--json"]) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["claims"] == [] and document["claims_missing"].startswith(scorecard.MISSING)
    assert document["answers"] and document["estimates"]
