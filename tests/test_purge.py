"""``socialrank purge``: what goes, what stays, derived data, dry runs, crash safety and the command."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from pipeline.config import ConfigError, DataRoot, Settings, load_settings
from pipeline.delivery import Delivery
from pipeline.ingest import ingested_delivery_ids, run_ingest
from pipeline.purge import (
    CHANGED,
    NOT_INGESTED,
    NOT_SELECTED,
    TOO_RECENT,
    PurgeBusy,
    PurgeError,
    PurgeReport,
    _collect,
    _execute,
    _scan_landing,
    read_ledger,
    run_purge,
)
from tests.conftest import SAMPLE_CONFIG, x_manifest, x_tweet, x_tweets_js

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=40)
RECENT = NOW - dt.timedelta(days=5)
SITE = "[site]\nowned_sites = ['example.com']\n"


def ranking_csv(keyword: str, bad_row: bool = False) -> str:
    rows = f"date,keyword,url,position\n2026-01-01,{keyword},https://example.com/{keyword},3\n"
    return rows + (f"2026-01-02,{keyword},https://example.com/{keyword},not-a-number\n" if bad_row else "")


def land(settings: Settings, relative: str, content: str) -> Path:
    path = settings.data.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def landed(settings: Settings) -> list[str]:
    landing = settings.data.landing
    return sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())


def lake_values(settings: Settings, dataset: str, column: str) -> list[object]:
    pattern = str(settings.data.lake / dataset / "**" / "*.parquet")
    rows = duckdb.execute(
        f"SELECT {column} FROM read_parquet(?, union_by_name = true) ORDER BY 1", [pattern]
    ).fetchall()
    return [value for (value,) in rows]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def content_id(path: Path) -> str:
    return Delivery(path).content_hash()


def test_purges_only_ingested_deliveries_past_the_retention(settings: Settings) -> None:
    old = land(settings, "rankings/tracker/old.csv", ranking_csv("old"))
    (old.parent / "old.csv.ready").write_text("")
    land(settings, "rankings/tracker/replaced.csv", ranking_csv("replaced"))
    land(settings, "social/x/notes.txt", "just some notes, not an export\n")
    old_results = {r.landing_path: r for r in run_ingest(settings, now=OLD).results}
    assert old_results["social/x/notes.txt"].status == "quarantined"
    land(settings, "rankings/tracker/recent.csv", ranking_csv("recent"))
    run_ingest(settings, now=RECENT)
    # After the last ingest: new bytes under an ingested name, a new file, old bytes under a new name.
    land(settings, "rankings/tracker/replaced.csv", ranking_csv("replaced-v2"))
    land(settings, "rankings/tracker/new.csv", ranking_csv("new"))
    land(settings, "rankings/other/old-again.csv", ranking_csv("old"))
    ledger_before = read_ledger(settings.data.lake)
    lake_before = snapshot(settings.data.lake)

    report = run_purge(settings, now=NOW)  # default retention: 30 days

    assert settings.retention.landing_days == 30
    assert landed(settings) == [
        "rankings/tracker/new.csv",
        "rankings/tracker/recent.csv",
        "rankings/tracker/replaced.csv",
    ]
    assert {kept.relative: kept.reason for kept in report.kept} == {
        "rankings/tracker/new.csv": NOT_INGESTED,
        "rankings/tracker/recent.csv": TOO_RECENT,
        "rankings/tracker/replaced.csv": CHANGED,
    }
    counts = report.counts()
    assert counts["deliveries"] == 2  # old.csv and its copy are one delivery (one content hash)
    assert counts["by_ledger_status"] == {"ingested": 1, "quarantined": 1}
    assert (counts["landed_copies"], counts["sentinels"], counts["lake_files"]) == (3, 1, 0)
    assert report.bytes_freed()["landing"] == len(ranking_csv("old")) * 2 + len(
        "just some notes, not an export\n"
    )
    # Without --derived the lake, the ledger and the quarantine copy are untouched.
    assert snapshot(settings.data.lake) == lake_before
    assert read_ledger(settings.data.lake) == ledger_before
    notes_id = old_results["social/x/notes.txt"].delivery_id
    assert (settings.data.quarantine / "files" / str(notes_id) / "notes.txt").exists()
    # The ledger still holds the purged bytes: landed again, they are a duplicate, not re-ingested.
    land(settings, "rankings/tracker/old.csv", ranking_csv("old"))
    statuses = {r.landing_path: r.status for r in run_ingest(settings, now=NOW).results}
    assert statuses["rankings/tracker/old.csv"] == "duplicate"
    assert statuses["rankings/tracker/replaced.csv"] == "ingested"


def test_dry_run_lists_everything_and_deletes_nothing(settings: Settings) -> None:
    land(settings, "rankings/tracker/a.csv", ranking_csv("a", bad_row=True))
    (settings.data.landing / "rankings" / "tracker" / "a.csv.ready").write_text("")
    land(settings, "social/x/notes.txt", "not an export\n")
    run_ingest(settings, now=OLD)
    before = snapshot(settings.data.root)

    report = run_purge(settings, derived=True, dry_run=True, now=NOW)

    assert snapshot(settings.data.root) == before
    listed = report.as_dict(settings.data.root)
    assert listed["dry_run"] is True
    by_path = {item["ledger_landing_path"]: item for item in listed["purged"]}
    assert by_path["rankings/tracker/a.csv"]["landing"] == ["landing/rankings/tracker/a.csv"]
    assert by_path["rankings/tracker/a.csv"]["sentinels"] == ["landing/rankings/tracker/a.csv.ready"]
    lake_files = by_path["rankings/tracker/a.csv"]["lake_files"]
    assert {path.split("/")[1] for path in lake_files} == {"rankings", "quarantined_records"}
    assert by_path["social/x/notes.txt"]["quarantine_copy"].startswith("quarantine/files/")
    assert all(len(item["ledger_files"]) == 1 for item in listed["purged"])
    assert listed["bytes_freed"]["total"] > listed["bytes_freed"]["landing"] > 0
    assert run_purge(settings, dry_run=True, now=NOW).counts()["lake_files"] == 0


def test_derived_purge_removes_lake_rows_and_the_bytes_can_be_ingested_again(settings: Settings) -> None:
    land(settings, "rankings/tracker/a.csv", ranking_csv("a", bad_row=True))
    land(settings, "social/x/notes.txt", "not an export\n")
    run_ingest(settings, now=OLD)
    land(settings, "rankings/tracker/b.csv", ranking_csv("b", bad_row=True))
    run_ingest(settings, now=RECENT)
    ids = {path: content_id(settings.data.landing / path) for path in landed(settings)}
    assert lake_values(settings, "rankings", "query") == ["a", "b"]
    # A raw purge first: the landed copies go, their lake rows stay.
    run_purge(settings, now=NOW)
    assert landed(settings) == ["rankings/tracker/b.csv"]
    assert lake_values(settings, "rankings", "query") == ["a", "b"]

    report = run_purge(settings, derived=True, now=NOW)

    assert [item.name() for item in report.purged] == [
        "rankings/tracker/a.csv (landed copy already gone)",
        "social/x/notes.txt (landed copy already gone)",
    ]
    assert lake_values(settings, "rankings", "query") == ["b"]
    assert lake_values(settings, "quarantined_records", "landing_path") == ["rankings/tracker/b.csv"]
    assert ingested_delivery_ids(settings.data.lake) == {ids["rankings/tracker/b.csv"]}
    assert not (settings.data.quarantine / "files" / ids["social/x/notes.txt"]).exists()
    assert report.counts()["ledger_entries"] == 2 and report.bytes_freed()["lake"] > 0
    assert not list((settings.data.state / "purge").glob("*.json"))
    # The ledger forgot the bytes: landed again, they are ingested again.
    land(settings, "rankings/tracker/a.csv", ranking_csv("a", bad_row=True))
    statuses = {r.landing_path: r.status for r in run_ingest(settings, now=NOW).results}
    assert statuses["rankings/tracker/a.csv"] == "ingested"
    assert lake_values(settings, "rankings", "query") == ["a", "b"]


def test_folder_delivery_goes_whole_and_leaves_nothing_hidden(settings: Settings) -> None:
    folder = settings.data.landing / "social" / "x" / "twitter-2026"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "manifest.js").write_text(x_manifest())
    tweet = x_tweet(
        "1",
        "Fri Feb 20 09:10:58 +0000 2026",
        "a https://t.co/a",
        [("https://t.co/a", "https://example.com/a")],
    )
    (folder / "data" / "tweets.js").write_text(x_tweets_js([{"tweet": tweet}]))
    (folder.parent / "twitter-2026.ready").write_text("")
    assert run_ingest(settings, now=OLD).results[0].status == "ingested"

    report = run_purge(settings, derived=True, now=NOW)

    assert report.counts()["landed_copies"] == 1 and report.counts()["sentinels"] == 1
    assert list((settings.data.landing / "social" / "x").iterdir()) == []
    assert lake_values(settings, "social_posts", "post_id") == []
    assert lake_values(settings, "social_links", "delivery_id") == []


def test_delivery_selection(settings: Settings) -> None:
    a = land(settings, "rankings/tracker/a.csv", ranking_csv("a"))
    land(settings, "rankings/tracker/b.csv", ranking_csv("b"))
    land(settings, "rankings/tracker/c.csv", ranking_csv("c"))
    run_ingest(settings, now=RECENT)
    a_id = content_id(a)

    report = run_purge(settings, derived=True, older_than_days=0, deliveries=[a_id, "rankings/tracker/b.csv"])

    assert landed(settings) == ["rankings/tracker/c.csv"]
    assert lake_values(settings, "rankings", "query") == ["c"]
    assert {kept.relative: kept.reason for kept in report.kept} == {"rankings/tracker/c.csv": NOT_SELECTED}
    with pytest.raises(PurgeError, match="matches no delivery"):
        run_purge(settings, deliveries=["rankings/tracker/missing.csv"])
    # Selected, but the ledger entry is younger than the retention: it stays.
    kept = run_purge(settings, deliveries=["rankings/tracker/c.csv"], now=NOW).kept
    assert [(k.relative, k.reason) for k in kept] == [("rankings/tracker/c.csv", TOO_RECENT)]


def test_a_copy_rewritten_between_hashing_and_deleting_is_kept(settings: Settings) -> None:
    a = land(settings, "rankings/tracker/a.csv", ranking_csv("a"))
    run_ingest(settings, now=OLD)
    report = PurgeReport(dry_run=False, derived=False, older_than_days=30, cutoff=RECENT)
    ledger = read_ledger(settings.data.lake)
    (item,) = _collect(settings, ledger, _scan_landing(settings, ledger, report), (), report)
    a.write_text(ranking_csv("a-v2"))  # lands over the old name after purge hashed it

    _execute(settings, item, report, NOW)

    assert a.read_text() == ranking_csv("a-v2")
    assert item.copies == [] and item.sizes["landing"] == 0
    assert [(k.relative, k.reason) for k in report.kept] == [("rankings/tracker/a.csv", CHANGED)]


def test_one_purge_at_a_time_and_leftovers_of_a_dead_one_are_swept(settings: Settings) -> None:
    leftover = settings.data.landing / "social" / "x" / ".archive.0123.purging"
    (leftover / "data").mkdir(parents=True)
    (leftover / "data" / "tweets.js").write_text("[]")
    lock = settings.data.state / "purge.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(PurgeBusy):
            run_purge(settings)
        assert run_purge(settings, dry_run=True).swept == 0  # a dry run takes no lock and deletes nothing
    assert leftover.exists()
    assert run_purge(settings).swept == 1
    assert not leftover.exists()


@pytest.mark.parametrize("fault", ["purge.landing_deleted", "purge.derived_deleted"])
def test_killed_derived_purge_is_finished_by_the_next_purge(
    settings: Settings, tmp_path: Path, fault: str
) -> None:
    land(settings, "rankings/tracker/a.csv", ranking_csv("a", bad_row=True))
    land(settings, "rankings/tracker/b.csv", ranking_csv("b"))
    run_ingest(settings, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    (tmp_path / "socialrank.toml").write_text(SITE)
    env = {**os.environ, "SOCIALRANK_HOME": str(settings.data.root), "SOCIALRANK_FAULT": fault}
    killed = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "purge", "--derived"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    # Killed inside the first delivery: its ledger entry is still there, marking it as unfinished.
    assert len(ingested_delivery_ids(settings.data.lake)) == 2
    assert len(list((settings.data.state / "purge").glob("*.json"))) == 1
    assert landed(settings) == ["rankings/tracker/b.csv"]

    report = run_purge(settings)  # a plain purge, without --derived, finishes it

    resumed = [item for item in report.purged if item.resumed]
    assert [item.entry.landing_path for item in resumed] == ["rankings/tracker/a.csv"]
    assert resumed[0].derived
    assert landed(settings) == []
    assert lake_values(settings, "rankings", "query") == ["b"]
    assert lake_values(settings, "quarantined_records", "delivery_id") == []
    assert len(ingested_delivery_ids(settings.data.lake)) == 1
    assert not list((settings.data.state / "purge").glob("*.json"))


def test_interrupted_purge_of_bytes_ingested_again_is_dropped(settings: Settings) -> None:
    a = land(settings, "rankings/tracker/a.csv", ranking_csv("a"))
    run_ingest(settings, now=OLD)
    a_id = content_id(a)
    intents = settings.data.state / "purge"
    intents.mkdir(parents=True)
    # A derived purge that died after deleting the ledger entry; then the same bytes were ingested again.
    (intents / f"{a_id}.json").write_text(json.dumps({"delivery_id": a_id, "started_at": OLD.isoformat()}))
    for path in (settings.data.lake / "ingest_ledger").glob("*/*.parquet"):
        path.unlink()
    run_ingest(settings, now=RECENT)

    report = run_purge(settings, now=NOW)

    assert report.purged == [] and landed(settings) == ["rankings/tracker/a.csv"]
    assert lake_values(settings, "rankings", "query") == ["a"]
    assert not (intents / f"{a_id}.json").exists()


# --- configuration and the command ----------------------------------------------------------------


def test_retention_setting(tmp_path: Path) -> None:
    shipped = load_settings(SAMPLE_CONFIG, home=tmp_path)
    assert shipped.retention.landing_days == 30
    config = tmp_path / "socialrank.toml"
    config.write_text("[site]\nowned_sites = ['example.com']\n")
    assert load_settings(config, home=tmp_path).retention.landing_days == 30
    config.write_text("[retention]\nlanding_days = 0\n")
    assert load_settings(config, home=tmp_path).retention.landing_days == 0
    for bad in ("-1", "'30'", "true", "1.5"):
        config.write_text(f"[retention]\nlanding_days = {bad}\n")
        with pytest.raises(ConfigError, match="landing_days"):
            load_settings(config, home=tmp_path)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALRANK_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def test_purge_command(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["purge", "--help"])
    assert exited.value.code == 0
    assert "--derived" in capsys.readouterr().out
    (tmp_path / "socialrank.toml").write_text(f"{SITE}[retention]\nlanding_days = 0\n")
    data = DataRoot(home)
    (data.landing / "rankings" / "tracker").mkdir(parents=True)
    (data.landing / "rankings" / "tracker" / "a.csv").write_text(ranking_csv("a"))
    assert main(["ingest"]) == EXIT_OK
    capsys.readouterr()

    assert main(["purge", "--derived", "--dry-run", "--json"]) == EXIT_OK
    planned = json.loads(capsys.readouterr().out)
    assert planned["dry_run"] is True and planned["older_than_days"] == 0
    assert planned["purged"][0]["landing"] == ["landing/rankings/tracker/a.csv"]
    assert (data.landing / "rankings" / "tracker" / "a.csv").exists()

    assert main(["purge", "--older-than", "7", "--json"]) == EXIT_OK  # overrides the configured 0 days
    assert json.loads(capsys.readouterr().out)["counts"]["kept"] == {TOO_RECENT: 1}
    assert main(["purge", "--derived", "--json"]) == EXIT_OK
    done = json.loads(capsys.readouterr().out)
    assert done["counts"]["deliveries"] == 1 and done["counts"]["ledger_entries"] == 1
    assert done["bytes_freed"]["landing"] == len(ranking_csv("a"))
    assert not (data.landing / "rankings" / "tracker" / "a.csv").exists()
    assert ingested_delivery_ids(data.lake) == set()

    assert main(["purge", "--delivery", "nothing-like-this"]) == EXIT_USAGE
    with pytest.raises(SystemExit) as exited:
        main(["purge", "--older-than", "-1"])
    assert exited.value.code == 2
    (tmp_path / "socialrank.toml").write_text(f"{SITE}[retention]\nlanding_days = -3\n")
    assert main(["purge"]) == EXIT_USAGE
