"""How fresh the published answer is: the last ranking day the warehouse holds ("data through"), which
can lag far behind the day a run covers (its as-of date) when no newer rank export has landed.

Every place that shows a warehouse's date (status, the report, a run's summary and log, the published
manifest, the warehouse asset event) shows both, and warns when the data is more than ``[freshness]
stale_after_days`` behind the as-of date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb


def last_ranking_day(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The newest day with a ranking row in a built warehouse (None: no ranking row)."""
    found = con.execute("SELECT max(day) FROM core.rankings_daily").fetchone()
    return found[0] if found else None


@dataclass(frozen=True)
class Freshness:
    data_through: dt.date | None
    as_of: dt.date
    stale_after_days: int

    @property
    def days_behind(self) -> int | None:
        return None if self.data_through is None else (self.as_of - self.data_through).days

    @property
    def stale(self) -> bool:
        return self.days_behind is None or self.days_behind > self.stale_after_days

    def headline(self) -> str:
        through = self.data_through.isoformat() if self.data_through else "(no ranking day)"
        return f"data through {through}; built for {self.as_of.isoformat()}"

    def warning(self) -> str | None:
        if not self.stale:
            return None
        if self.data_through is None:
            return "the warehouse holds no ranking day: land rank exports in landing/rankings/<source>/"
        return (
            f"stale data: the newest ranking day, {self.data_through}, is {self.days_behind} days before "
            f"{self.as_of} (more than [freshness] stale_after_days = {self.stale_after_days}); land newer "
            "rank exports in landing/rankings/<source>/"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_through": self.data_through.isoformat() if self.data_through else None,
            "as_of": self.as_of.isoformat(),
            "days_behind": self.days_behind,
            "stale_after_days": self.stale_after_days,
            "stale": self.stale,
            "warning": self.warning(),
        }
