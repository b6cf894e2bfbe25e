"""``socialrank init`` and where the configuration comes from: no silent default site, a log line naming
the file used, clear refusals, and a new user's first hour with their own data for a ``www.`` site."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import EXIT_OK, EXIT_USAGE, main
from pipeline.config import ConfigError, load_settings
from pipeline.config_init import render_config
from tests.conftest import PROJECT_DIR, SAMPLE_CONFIG

SOCIALRANK = str(Path(sys.executable).with_name("socialrank"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with no configuration anywhere socialrank looks."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOCIALRANK_HOME", raising=False)
    return tmp_path


# Every command that reads or writes your data needs your sites; a few run without them.
NEEDS_SITES = [
    ["ingest"],
    ["build"],
    ["check"],
    ["publish"],
    ["run", "--date", "2026-11-01"],
    ["crawl"],
    ["fetch-gsc"],
    ["inspect", "export.csv"],
    ["purge", "--dry-run"],
]


@pytest.mark.parametrize("argv", NEEDS_SITES, ids=lambda argv: argv[0])
def test_without_a_configuration_commands_that_need_the_sites_stop_naming_init(
    folder: Path, argv: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    (folder / "export.csv").write_text("date,keyword,url,position\n")
    with caplog.at_level(logging.ERROR):
        assert main(argv) == EXIT_USAGE
    assert "no configuration found" in caplog.text
    assert "socialrank init --site" in caplog.text
    assert "$SOCIALRANK_CONFIG is not set" in caplog.text
    assert f"no {folder / 'socialrank.toml'}" in caplog.text
    assert not (folder / "data").exists()  # nothing ingested or built for a made-up site


def test_commands_that_need_no_sites_run_without_a_configuration(folder: Path) -> None:
    assert main(["demo-data"]) == EXIT_OK
    assert (folder / "data" / "landing" / "social" / "linkedin" / "Shares.csv").exists()
    assert main(["status"]) == EXIT_USAGE  # nothing published yet: the usual message, not a configuration one


def test_a_configuration_without_owned_sites_names_what_to_add(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (folder / "socialrank.toml").write_text("[crawler]\nper_host_delay = 0.0\n")
    with caplog.at_level(logging.ERROR):
        assert main(["ingest"]) == EXIT_USAGE
    assert "socialrank.toml names no owned sites: add owned_sites = [" in caplog.text
    # init without --site writes the file to fill in, and says so; runs stop until it is filled in.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["init", "--force"]) == EXIT_OK
        assert "no --site given: list your sites in owned_sites" in caplog.text
        assert main(["run", "--date", "2026-11-01"]) == EXIT_USAGE
    assert "names no owned sites" in caplog.text
    assert "owned_sites = []" in (folder / "socialrank.toml").read_text(encoding="utf-8")


def test_configuration_is_found_in_order_and_the_log_names_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = folder / "home"
    home.mkdir()
    monkeypatch.setenv("SOCIALRANK_HOME", str(home))
    named, here, in_home = folder / "named.toml", folder / "socialrank.toml", home / "socialrank.toml"
    for path, site in ((named, "named.example"), (here, "here.example"), (in_home, "home.example")):
        path.write_text(f'[site]\nowned_sites = ["{site}"]\n')
    caplog.set_level(logging.INFO, logger="pipeline.config")

    monkeypatch.setenv("SOCIALRANK_CONFIG", str(named))
    assert load_settings(require_sites=True).owned_sites == ("named.example",)
    assert f"configuration: {named} ($SOCIALRANK_CONFIG)" in caplog.text
    monkeypatch.delenv("SOCIALRANK_CONFIG")
    assert load_settings(require_sites=True).owned_sites == ("here.example",)
    assert f"configuration: {here} (the current folder)" in caplog.text
    here.unlink()
    assert load_settings(require_sites=True).owned_sites == ("home.example",)
    assert f"configuration: {in_home} ($SOCIALRANK_HOME)" in caplog.text
    # --config wins over all; a file named but missing is an error, never a fallback.
    assert load_settings(named, require_sites=True).owned_sites == ("named.example",)
    monkeypatch.setenv("SOCIALRANK_CONFIG", str(folder / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing.toml \(\$SOCIALRANK_CONFIG\) does not exist"):
        load_settings()


def test_init_writes_a_commented_configuration_and_never_overwrites_without_force(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = folder / "socialrank.toml"
    assert (
        main(["init", "--site", "www.MySite.io", "--site", "shop.example", "--timezone", "Europe/Berlin"])
        == 0
    )
    text = config.read_text(encoding="utf-8")
    assert 'owned_sites = ["www.MySite.io", "shop.example"]' in text
    assert 'timezone = "Europe/Berlin"' in text
    assert text.count("\n# ") > 20  # every setting explained
    assert f"wrote {config}" in caplog.text
    assert "www.MySite.io: its pages are the URLs on mysite.io and its subdomains" in caplog.text
    settings = load_settings(require_sites=True)
    assert settings.owned_sites == ("mysite.io", "shop.example")
    assert settings.timezone.key == "Europe/Berlin" and settings.config_file == config

    caplog.clear()
    assert main(["init", "--site", "other.example"]) == EXIT_USAGE
    assert "socialrank.toml exists already: edit it, or pass --force to replace it" in caplog.text
    assert config.read_text(encoding="utf-8") == text
    assert main(["init", "--site", "other.example", "--force"]) == EXIT_OK
    assert tomllib.loads(config.read_text(encoding="utf-8"))["site"]["owned_sites"] == ["other.example"]


def test_init_validates_the_site_and_the_time_zone(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["init", "--site", "https://www.mysite.io/blog"]) == EXIT_USAGE
    assert (
        "--site 'https://www.mysite.io/blog' is not a bare domain name: write 'www.mysite.io'" in caplog.text
    )
    assert main(["init", "--site", "mysite.io", "--timezone", "Europe/Berln"]) == EXIT_USAGE
    assert "--timezone: unknown time zone 'Europe/Berln': use an IANA name (did you mean 'Europe/Berlin'" in (
        caplog.text
    )
    assert main(["init", "--site", "mysite.io", "--timezone", "localtime"]) == EXIT_USAGE
    assert not (folder / "socialrank.toml").exists()
    bad = folder / "bad.toml"
    bad.write_text('[site]\nowned_sites = ["mysite.io"]\ntimezone = "America/Los_Angles"\n')
    with pytest.raises(
        ConfigError, match=r"bad.toml: \[site\] timezone: .*did you mean 'America/Los_Angeles'"
    ):
        load_settings(bad)


def test_the_sample_configuration_is_what_init_writes_for_the_sample_site() -> None:
    """`make run` names sample/socialrank.toml; it must not drift from the template users get."""
    assert SAMPLE_CONFIG.read_text(encoding="utf-8") == render_config(["example.com"], "America/Los_Angeles")
    settings = load_settings(SAMPLE_CONFIG, require_sites=True)
    assert settings.owned_sites == ("example.com",)
    assert not (PROJECT_DIR / "socialrank.toml").exists()  # nothing for a run from the repository to pick up


# --- a new user's first hour: their own data for a www. site, no configuration, then init and run --------

RUN_DATE = dt.date(2026, 10, 31)
PAGES = ("/guides/tents/", "/guides/boots/", "/reviews/stoves/", "/reviews/packs/")
SHARED = PAGES[:2]


def _rankings() -> str:
    """A rank tracker's export: 13 weeks of daily positions of four pages, one keyword each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "keyword", "url", "position"])
    for offset in range(91):
        day = RUN_DATE - dt.timedelta(days=offset)
        for number, path in enumerate(PAGES):
            writer.writerow(
                [day.isoformat(), f"keyword {number}", f"https://www.mysite.io{path}", 5 + number]
            )
    return out.getvalue()


def _linkedin_shares() -> str:
    """LinkedIn's Shares.csv: the user's posts linking two of the pages, tagged for analytics."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"])
    for number, path in enumerate(SHARED):
        writer.writerow(
            [
                f"2026-09-{10 + number} 15:00:00",
                f"https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A70000000000000000{number}",
                "Our new guide",
                f"https://www.mysite.io{path}?utm_source=linkedin",
                "",
                "MEMBER_NETWORK",
            ]
        )
    return out.getvalue()


def _socialrank(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SOCIALRANK_CONFIG", "SOCIALRANK_HOME", "SOCIALRANK_FAULT")
    }
    env.update(SOCIALRANK_PROJECT_DIR=str(PROJECT_DIR), GX_ANALYTICS_ENABLED="False")
    return subprocess.run(
        [SOCIALRANK, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_own_data_for_a_www_site_from_no_configuration_through_init_and_run(tmp_path: Path) -> None:
    folder = tmp_path / "my-first-hour"
    landing = folder / "data" / "landing"
    (landing / "social" / "linkedin").mkdir(parents=True)
    (landing / "rankings" / "rank_tracker").mkdir(parents=True)
    (landing / "social" / "linkedin" / "Shares.csv").write_text(_linkedin_shares(), encoding="utf-8")
    (landing / "rankings" / "rank_tracker" / "positions.csv").write_text(_rankings(), encoding="utf-8")

    first = _socialrank(folder, "run", "--date", RUN_DATE.isoformat())
    assert first.returncode == EXIT_USAGE, first.stderr
    assert "no configuration found" in first.stderr and "socialrank init --site" in first.stderr
    assert "Traceback" not in first.stderr
    assert not (folder / "data" / "lake").exists()

    init = _socialrank(folder, "init", "--site", "www.mysite.io", "--timezone", "Europe/Berlin")
    assert init.returncode == EXIT_OK, init.stderr
    assert (folder / "socialrank.toml").is_file()

    run = _socialrank(folder, "run", "--date", RUN_DATE.isoformat())
    assert run.returncode == EXIT_OK, run.stderr[-3000:]
    assert f"configuration: {folder / 'socialrank.toml'} (the current folder)" in run.stderr
    con = duckdb.connect(str(folder / "data" / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        owned_links = con.execute(
            "SELECT DISTINCT canonical_url FROM core.social_links WHERE is_owned ORDER BY 1"
        ).fetchall()
        first_links = con.execute(
            "SELECT canonical_url, platform FROM core.first_social_links ORDER BY 1, 2"
        ).fetchall()
        linked_rows = con.execute(
            "SELECT count(DISTINCT canonical_url) FROM mart.ranking_impact WHERE social_links_any > 0"
        ).fetchone()
        owned_sites = con.execute("SELECT owned_sites FROM meta.build_info").fetchone()
    finally:
        con.close()
    shared = sorted(f"https://mysite.io{path}" for path in SHARED)
    assert [url for (url,) in owned_links] == shared
    assert first_links == sorted([(url, platform) for url in shared for platform in ("any", "linkedin")])
    assert linked_rows == (2,)
    assert owned_sites == (["mysite.io"],)
    assert "No page has a social link yet" not in (
        folder / "data" / "reports" / "socialrank-report.html"
    ).read_text(encoding="utf-8")
