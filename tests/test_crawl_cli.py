"""``socialrank fetch``, ``crawl`` and ``fetch-gsc`` through their argument parsers and handlers."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.cli_support import json_output
from pipeline.config import Settings, load_settings
from pipeline.crawl.cli_commands import EXIT_FAILED, EXIT_OK
from tests.http_servers import LoopbackServer, Reply

SITE = '[site]\nowned_sites = ["example.com"]\n'


def run(argv: list[str]) -> int:
    """These commands through the CLI's own parser, with the configuration found as the CLI finds it."""
    args = build_parser().parse_args(argv)
    settings: Settings = load_settings()
    json_output.printed = False  # a new command, as in the CLI's main
    code: int = args.handler(settings, args)
    return code


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALRANK_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    # The default politeness delay (1 s between requests to a host) would only slow the test down.
    (tmp_path / "socialrank.toml").write_text(f"{SITE}[crawler]\nper_host_delay = 0.0\n")
    return tmp_path / "data"


def test_fetch_json_follows_the_whole_path(
    home: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOCIALRANK_ALLOW_NETWORKS", "127.0.0.0/8")
    final = loopback.route(
        "127.0.0.1",
        "/article",
        Reply(
            200,
            '<head><link rel="canonical" href="/article"></head><a href="/next" rel="ugc nofollow">Next</a>',
        ),
    )
    start = loopback.route("127.0.0.1", "/s/1", Reply(301, headers={"Location": "/article"}))
    assert run(["fetch", start, "--json"]) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["url"] == start and result["final_url"] == final and result["status"] == 200
    assert result["redirects"] == [{"url": start, "status": 301, "kind": "redirect"}]
    assert result["canonical"] == final and result["robots_allowed"] is True and result["error"] is None
    assert result["links"] == [
        {"url": loopback.url("127.0.0.1", "/next"), "text": "Next", "rel": ["nofollow", "ugc"]}
    ]
    assert not (home / "state").exists()  # a one-off fetch leaves nothing behind

    assert run(["fetch", start]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "-> 301 " + start in printed and "[nofollow ugc] " in printed


def test_fetch_reports_a_refused_address(
    home: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCIALRANK_ALLOW_NETWORKS", raising=False)
    url = loopback.route("127.0.0.1", "/", Reply(200, "<p>local</p>"))
    assert run(["fetch", url, "--json"]) == EXIT_FAILED  # loopback is not allowed by default
    result = json.loads(capsys.readouterr().out)
    assert result["error"].startswith("blocked address: 127.0.0.1") and result["final_url"] is None
    assert loopback.connections == 0


def test_crawl_and_fetch_gsc_are_skipped_when_not_configured(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["crawl", "--date", "2026-11-01", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["skipped"] is True
    assert run(["fetch-gsc", "--date", "2026-11-01", "--backfill", "--json"]) == EXIT_OK
    assert "no properties configured" in json.loads(capsys.readouterr().out)["reason"]


def test_fetch_of_a_server_that_never_answers_ends_within_its_budget(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that accepts connections and never answers: robots.txt, retries and waits together
    stay within ``fetch_budget`` (before it, four tries of a 15 s read timeout took 67 s)."""
    monkeypatch.setenv("SOCIALRANK_ALLOW_NETWORKS", "127.0.0.0/8")
    (home.parent / "socialrank.toml").write_text(
        f"{SITE}[crawler]\nper_host_delay = 0.0\nfetch_budget = 2.0\n"
    )
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshakes; nothing ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/page"
        started = time.monotonic()
        code = run(["fetch", url, "--json"])
        elapsed = time.monotonic() - started
    assert code == EXIT_FAILED
    result = json.loads(capsys.readouterr().out)
    assert "within the 2s budget" in result["error"], result
    assert elapsed < 2.5, f"took {elapsed:.1f}s with a 2 s budget"
