"""The SQL helpers every model uses (sql/macros/duckdb_macros.sql), on DuckDB."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipeline.config import DataRoot, Settings
from pipeline.warehouse import define_macros


def _connection(owned_sites: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """The macros as a build defines them, for these owned sites."""
    con = duckdb.connect()
    settings = Settings(
        data=DataRoot(Path("unused")), owned_sites=owned_sites, timezone=ZoneInfo("America/Los_Angeles")
    )
    define_macros(con, settings)
    return con


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("https://example.com/gear", True),
        ("https://www.example.com", True),
        ("http://shop.eu.example.com:8080/cart?x=1", True),
        ("https://example.com?utm=1", True),
        ("https://example.com#top", True),
        ("https://a.co.uk/p", True),
        ("https://notexample.com/", False),
        ("https://example.com.evil.test/", False),
        ("https://example.comx/", False),
        ("https://evil.test/example.com", False),
        ("https://evil.test/?next=https://example.com/", False),
        ("https://exampleXcom/", False),  # the dot is a dot, not "any character"
        ("https://[::1]/", False),
        ("", False),
        (None, False),
    ],
)
def test_is_owned_matches_owned_sites_and_their_subdomains(url: str | None, owned: bool) -> None:
    con = _connection(("example.com", "a.co.uk"))
    assert con.execute("SELECT is_owned(?)", [url]).fetchone() == (owned,)


def test_with_no_owned_sites_nothing_is_owned() -> None:
    con = _connection(())
    assert con.execute("SELECT is_owned('https://example.com/')").fetchone() == (False,)


@pytest.mark.parametrize(
    ("day", "monday", "period"),
    [
        ("1970-01-05", "1970-01-05", 0),  # the first Monday of the count
        ("1970-01-11", "1970-01-05", 0),  # its Sunday
        ("1970-01-12", "1970-01-12", 1),
        ("2026-10-26", "2026-10-26", 2964),
        ("2026-11-01", "2026-10-26", 2964),  # a Sunday belongs to the week of the Monday before it
        ("2026-11-02", "2026-11-02", 2965),
    ],
)
def test_weeks_start_on_monday_and_count_from_1970_01_05(day: str, monday: str, period: int) -> None:
    con = _connection(())
    assert con.execute(
        "SELECT week_start(?::DATE)::VARCHAR, week_period(week_start(?::DATE))", [day, day]
    ).fetchone() == (monday, period)
