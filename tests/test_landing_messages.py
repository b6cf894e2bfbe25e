"""What a user is told about files socialrank cannot use as they are (issue 17, items 4 and 5): a
misspelled column, an empty file, a day-first date, a file outside ``landing/<family>/<source>/``.
Each through ``run_ingest`` and through the real CLI (``inspect``, ``ingest``, ``run``)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
from pathlib import Path

import pytest

from pipeline.cli import EXIT_DATA, EXIT_OK, main
from pipeline.config import Settings
from pipeline.delivery import Delivery
from pipeline.ingest import ingested_delivery_ids, run_ingest
from pipeline.sources import REGISTRATIONS, Registration, detect_format
from pipeline.sources.diagnosis import why_unrecognised
from tests.conftest import DEMO_RUN_DATE, write_zip

KEYWROD = "date,keywrod,url,position\n2026-11-20,shoes,https://example.com/s,3\n"
KEYWROD_HINT = (
    "not a known export format: looks like a rank-tracker CSV; missing column 'keyword' (found 'keywrod')"
)
DAY_FIRST = (
    "date,keyword,url,position\n"
    "20/11/2026,shoes,https://example.com/s,3\n"
    "2026-11-21,shoes,https://example.com/s,4\n"
)
DAY_FIRST_REASON = "unparseable date '20/11/2026' (expected YYYY-MM-DD)"
RANKINGS = "date,keyword,url,position\n2026-11-20,shoes,https://example.com/s,3\n"
SHARES = (
    "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n"
    '2026-01-01 10:00:00,https://www.linkedin.com/feed/update/urn:li:share:1,"hi",https://example.com/a,,PUBLIC\n'
)
ZERO_BYTES = "empty (0 bytes): nothing to read; export or copy it again"
WHITESPACE = "empty (only whitespace): nothing to read; export or copy it again"
SHARES_AT_TOP = (
    "landing/Shares.csv is not in a source folder: it reads as a LinkedIn Shares export; "
    "move it to landing/social/linkedin/"
)
RANKINGS_ONE_LEVEL_SHORT = (
    "landing/rankings/pos.csv is not in a source folder (one level short): it reads as a rank-tracker CSV; "
    "move it to landing/rankings/rank_tracker/"
)


def land(landing: Path, relative: str, content: str | bytes) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder with a configuration and the data root under it; the CLI runs from there."""
    monkeypatch.setenv("SOCIALRANK_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "socialrank.toml").write_text('[site]\nowned_sites = ["example.com"]\n', encoding="utf-8")
    return tmp_path / "data"


# --- run_ingest ---------------------------------------------------------------------------------------


def test_a_misspelled_column_names_the_nearest_format_and_the_column(settings: Settings) -> None:
    land(settings.data.landing, "rankings/tracker/positions.csv", KEYWROD)
    [result] = run_ingest(settings).results
    assert (result.status, result.message) == (
        "quarantined",
        f"rankings/tracker/positions.csv: {KEYWROD_HINT}",
    )


def test_a_table_in_an_archive_is_named_and_a_complete_header_of_another_type_is_told_so(
    settings: Settings,
) -> None:
    landing = settings.data.landing
    write_zip(
        landing / "rankings" / "tracker" / "export.zip", {"export/positions.csv": KEYWROD, "notes.md": "hi"}
    )
    land(landing, "rankings/tracker/positions.txt", RANKINGS)  # the contract is a .csv file
    messages = {r.landing_path: r.message for r in run_ingest(settings).results}
    assert messages == {
        "rankings/tracker/export.zip": "rankings/tracker/export.zip: not a known export format: "
        "export/positions.csv looks like a rank-tracker CSV; missing column 'keyword' (found 'keywrod')",
        "rankings/tracker/positions.txt": "rankings/tracker/positions.txt: not a known export format: "
        "has every column of a rank-tracker CSV but is not read as one: docs/formats.md says what else it "
        "needs (its file type or name, the header on the first line)",
    }


def test_empty_files_are_empty_and_named_again_until_replaced(settings: Settings) -> None:
    landing = settings.data.landing
    land(landing, "rankings/tracker/zero.csv", b"")
    land(landing, "social/linkedin/blank.csv", b"\xef\xbb\xbf \r\n\n")
    first = run_ingest(settings)
    assert {r.landing_path: (r.status, r.message) for r in first.results} == {
        "rankings/tracker/zero.csv": ("empty", ZERO_BYTES),
        "social/linkedin/blank.csv": ("empty", WHITESPACE),
    }
    # Not ledgered: named again next time, and another 0-byte file (the same hash) is no "duplicate".
    land(landing, "rankings/tracker/zero-again.csv", b"")
    second = run_ingest(settings)
    assert [r.status for r in second.results] == ["empty", "empty", "empty"]
    assert ingested_delivery_ids(settings.data.lake) == set()


def test_an_empty_archive_is_empty(settings: Settings) -> None:
    write_zip(settings.data.landing / "social" / "x" / "export.zip", {})
    [result] = run_ingest(settings).results
    assert result.status == "quarantined"
    assert result.message == "social/x/export.zip: empty zip archive (no file in it): nothing to read"


def test_a_day_first_date_is_quarantined_naming_the_layout_expected(settings: Settings) -> None:
    land(settings.data.landing, "rankings/tracker/positions.csv", DAY_FIRST)
    [result] = run_ingest(settings).results
    assert (result.status, result.kept, result.quarantined) == ("ingested", 1, 1)
    assert result.reasons == [f"positions.csv line 2: {DAY_FIRST_REASON}"]


def test_files_above_the_delivery_level_are_reported_with_the_folder_they_go_in(settings: Settings) -> None:
    landing = settings.data.landing
    land(landing, "rankings/tracker/positions.csv", RANKINGS)
    land(landing, "Shares.csv", SHARES)
    land(landing, "rankings/pos.csv", RANKINGS)
    land(landing, "notes.txt", "just some notes\n")
    for left_alone in ("delivery.ready", ".DS_Store", "social/.hidden.csv", "rankings/pos.csv.part"):
        land(landing, left_alone, "")
    (landing / "backlinks" / "ahrefs").mkdir(parents=True)  # an empty source folder is no file
    report = run_ingest(settings)
    assert [(r.landing_path, r.status) for r in report.results] == [
        ("rankings/tracker/positions.csv", "ingested")
    ]
    expected = [
        {
            "landing_path": "Shares.csv",
            "format": "linkedin_shares",
            "move_to": "social/linkedin",
            "message": SHARES_AT_TOP,
        },
        {
            "landing_path": "notes.txt",
            "format": None,
            "move_to": None,
            "message": "landing/notes.txt is not in a source folder: not a known export format: its content "
            f"matches none of the {len(REGISTRATIONS)} formats socialrank reads (docs/formats.md); "
            "deliveries go in landing/<family>/<source>/",
        },
        {
            "landing_path": "rankings/pos.csv",
            "format": "rank_tracker_csv",
            "move_to": "rankings/rank_tracker",
            "message": RANKINGS_ONE_LEVEL_SHORT,
        },
    ]
    assert [dataclasses.asdict(misplaced) for misplaced in report.misplaced] == expected
    assert report.as_dict()["misplaced"] == expected
    # Reported, not read: nothing of theirs is in the lake or the ledger.
    assert len(ingested_delivery_ids(settings.data.lake)) == 1


# --- the CLI ------------------------------------------------------------------------------------------


def test_inspect_says_what_to_fix(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing = home / "landing"
    keywrod = land(landing, "rankings/tracker/positions.csv", KEYWROD)
    assert main(["inspect", str(keywrod)]) == EXIT_DATA
    assert capsys.readouterr().out == f"{keywrod}: positions.csv: {KEYWROD_HINT}\n"

    zero = land(landing, "rankings/tracker/zero.csv", b"")
    assert main(["inspect", str(zero), "--json"]) == EXIT_DATA
    assert json.loads(capsys.readouterr().out)["error"] == f"zero.csv: {ZERO_BYTES}"

    day_first = land(landing, "rankings/tracker/day-first.csv", DAY_FIRST)
    assert main(["inspect", str(day_first)]) == EXIT_OK
    assert f"day-first.csv line 2: {DAY_FIRST_REASON}" in capsys.readouterr().out


def test_inspect_and_ingest_agree_on_misplaced_files(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing = home / "landing"
    shares = land(landing, "Shares.csv", SHARES)
    one_level_short = land(landing, "rankings/pos.csv", RANKINGS)
    for path, message, found in (
        (shares, SHARES_AT_TOP, "linkedin_shares"),
        (one_level_short, RANKINGS_ONE_LEVEL_SHORT, "rank_tracker_csv"),
    ):
        assert main(["inspect", str(path), "--json"]) == EXIT_OK
        inspected = json.loads(capsys.readouterr().out)
        assert (inspected["format"], inspected["misplaced"]) == (found, message)
        assert main(["inspect", str(path)]) == EXIT_OK
        assert f"not ingested where it lies: {message}" in capsys.readouterr().out
    assert main(["inspect", str(land(landing, "rankings/tracker/positions.csv", RANKINGS)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["misplaced"] is None

    assert main(["ingest", "--json"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["by_status"] == {"ingested": 1}
    assert [item["message"] for item in summary["misplaced"]] == [SHARES_AT_TOP, RANKINGS_ONE_LEVEL_SHORT]


def test_ingest_logs_every_message(
    home: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    landing = home / "landing"
    land(landing, "rankings/tracker/positions.csv", KEYWROD)
    land(landing, "rankings/tracker/zero.csv", b"")
    land(landing, "rankings/tracker/day-first.csv", DAY_FIRST)
    land(landing, "Shares.csv", SHARES)
    land(landing, "rankings/pos.csv", RANKINGS)
    with caplog.at_level(logging.INFO):
        assert main(["ingest"]) == EXIT_OK
    logged = caplog.text
    for said in (
        KEYWROD_HINT,
        f"rankings/tracker/zero.csv: {ZERO_BYTES}",
        f"quarantined record: day-first.csv line 2: {DAY_FIRST_REASON}",
        f"not ingested: {SHARES_AT_TOP}",
        f"not ingested: {RANKINGS_ONE_LEVEL_SHORT}",
        "1 empty, 2 misplaced files not ingested",
    ):
        assert said in logged


def test_run_reports_misplaced_files_in_its_log_and_json(
    home: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["demo-data"]) == EXIT_OK
    land(home / "landing", "Shares.csv", SHARES)
    assert main(["run", "--date", DEMO_RUN_DATE.isoformat(), "--json"]) == EXIT_OK
    result, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)
    assert [item["message"] for item in result["ingest"]["misplaced"]] == [SHARES_AT_TOP]
    assert f"not ingested: {SHARES_AT_TOP}" in caplog.text


# --- every format's header layout ---------------------------------------------------------------------

TABLE_REGISTRATIONS = [registration for registration in REGISTRATIONS if registration.header_layouts]


def _header_file(tmp_path: Path, names: list[str], table: str | None) -> Path:
    path = tmp_path / (table if table and table.endswith(".csv") else "export.csv")
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(names)
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def _misspelled(name: str) -> str:
    """Two letters in the middle swapped, as a hand-typed header has them."""
    middle = len(name) // 2
    return name[: middle - 1] + name[middle] + name[middle - 1] + name[middle + 1 :]


@pytest.mark.parametrize(
    "registration", TABLE_REGISTRATIONS, ids=[r.source_format.name for r in TABLE_REGISTRATIONS]
)
def test_header_layouts_are_what_their_formats_recognise(registration: Registration, tmp_path: Path) -> None:
    """A layout's first names make a header its format recognises (the layouts cannot go stale), and
    with its longest name misspelled the diagnosis names that format, the column and the misspelling."""
    for layout in registration.header_layouts:
        names = [column[0] for column in layout.columns]
        delivery = Delivery(_header_file(tmp_path, names, layout.table))
        assert registration.source_format.detect(delivery), (layout.table, names)
        if len(names) < 2:
            continue
        longest = max(names, key=len)
        typed = [_misspelled(name) if name == longest else name for name in names]
        delivery = Delivery(_header_file(tmp_path, typed, layout.table))
        assert detect_format(delivery) is None
        table = f" ({layout.table})" if layout.table else ""
        assert why_unrecognised(delivery) == (
            f"not a known export format: looks like {registration.label}{table}; "
            f"missing column '{longest}' (found '{_misspelled(longest)}')"
        )
