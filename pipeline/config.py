"""Settings: one TOML file (``socialrank.toml``) plus environment variables.

The data root comes from ``SOCIALRANK_HOME`` (default ``./data``); the TOML file from
``SOCIALRANK_CONFIG`` (default ``./socialrank.toml`` when it exists). Secrets never live here:
they come from Airflow connections or the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.crawl.settings import (
    CrawlerSettings,
    SearchConsoleSettings,
    crawler_settings,
    search_console_settings,
)

DEFAULT_CONFIG_NAME = "socialrank.toml"


class ConfigError(ValueError):
    """The configuration file or an environment variable holds something unusable."""


@dataclass(frozen=True)
class DataRoot:
    """The folders below ``SOCIALRANK_HOME`` (SPEC section 3)."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def data_docs(self) -> Path:
        return self.reports / "data_docs"

    @property
    def gx_project(self) -> Path:
        return self.root / "gx"

    @property
    def run_log(self) -> Path:
        return self.root / "runs"

    @property
    def state(self) -> Path:
        """Fetchers' own bookkeeping: the crawl frontier and HTTP cache, Search Console watermarks."""
        return self.root / "state"

    def ensure(self) -> None:
        for path in (
            self.landing,
            self.lake,
            self.quarantine,
            self.warehouse_dir,
            self.reports,
            self.run_log,
        ):
            path.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class ImpactSettings:
    """``[impact]``: the second treatment definition, a page's first day past this much engagement
    (likes + reposts + replies of the posts linking it, summed per platform and over all platforms)."""

    engagement_threshold: int = 20
    # Weeks of history the estimator uses, ending with the last complete week: bounds its cost
    # (group-time effects grow with cohorts x weeks) however long the history grows.
    window_weeks: int = 26
    # Weeks before a page's recorded first link in which an effect may already start (a post scheduled
    # after the page was promoted elsewhere, a link found late): the base week moves back by this much.
    anticipation_weeks: int = 0


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: days an ingested delivery stays in the landing zone after its ledger entry
    (``socialrank purge``; see docs/retention.md)."""

    landing_days: int = 30


@dataclass(frozen=True)
class IngestLimits:
    """``[ingest]``: what the worker process that parses one delivery may use (SPEC section 10). A
    delivery that breaks a limit is quarantined and the run goes on with the others."""

    # Address space beyond the ingesting process's own, in MiB (RLIMIT_AS).
    memory_mb: int = 4096
    cpu_seconds: int = 1800  # RLIMIT_CPU of the worker
    wall_seconds: int = 3600  # from the worker's start to its last record


@dataclass(frozen=True)
class Settings:
    data: DataRoot
    owned_sites: tuple[str, ...]
    timezone: ZoneInfo
    www_policy: str = "strip"
    history_start: str = "2006-03-21"
    warehouse_path: Path | None = None
    # DuckDB's memory for a build or a gate (it spills to disk beyond it); its default, 80% of the
    # machine, lets one build take what analysts and Airflow need.
    warehouse_memory_limit: str = "5GB"
    # How long a run waits for the ingest or the warehouse writer lock another run holds: a full
    # build + gate + publish at scale takes minutes, so an hour means "that run is stuck".
    lock_wait_seconds: float = 3600.0
    # ``[freshness]``: days the newest ranking day may lag the day a run covers before status, the
    # report and the run warn that the data is stale.
    stale_after_days: int = 7
    config_file: Path | None = None
    crawler: CrawlerSettings = field(default_factory=CrawlerSettings)
    search_console: SearchConsoleSettings = field(default_factory=SearchConsoleSettings)
    impact: ImpactSettings = field(default_factory=ImpactSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    ingest: IngestLimits = field(default_factory=IngestLimits)

    @property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.data.warehouse_dir / "warehouse.duckdb"


def _as_str_tuple(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of strings, got {value!r}")
    return tuple(value)


def _ingest_limits(raw: dict[str, Any], path: Path) -> IngestLimits:
    values: dict[str, int] = {}
    for key, attribute in (
        ("memory_limit_mb", "memory_mb"),
        ("cpu_limit_seconds", "cpu_seconds"),
        ("wall_limit_seconds", "wall_seconds"),
    ):
        value = raw.get(key, getattr(IngestLimits, attribute))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{path}: [ingest] {key} must be a positive whole number, got {value!r}")
        values[attribute] = value
    return IngestLimits(**values)


def load_settings(config_path: Path | None = None, home: Path | None = None) -> Settings:
    """Read settings from the TOML file and the environment; environment wins for the data root."""
    env_config = os.environ.get("SOCIALRANK_CONFIG")
    path = config_path or (Path(env_config) if env_config else Path.cwd() / DEFAULT_CONFIG_NAME)
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    elif config_path is not None or env_config:
        raise ConfigError(f"configuration file {path} does not exist")

    site = raw.get("site", {})
    home_value = home or Path(os.environ.get("SOCIALRANK_HOME") or raw.get("data", {}).get("home") or "data")
    tz_name = site.get("timezone", "America/Los_Angeles")
    try:
        timezone = ZoneInfo(tz_name)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: unknown time zone {tz_name!r} in [site] timezone") from exc
    www_policy = site.get("www_policy", "strip")
    if www_policy not in ("strip", "keep"):
        raise ConfigError(f"{path}: [site] www_policy must be 'strip' or 'keep', got {www_policy!r}")
    owned = _as_str_tuple(site.get("owned_sites", ["example.com"]), "[site] owned_sites")
    warehouse = raw.get("warehouse", {}).get("path")
    memory_limit = raw.get("warehouse", {}).get("memory_limit", Settings.warehouse_memory_limit)
    if not isinstance(memory_limit, str) or not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
        raise ConfigError(f"{path}: [warehouse] memory_limit must look like '4GB', got {memory_limit!r}")
    threshold = raw.get("impact", {}).get("engagement_threshold", ImpactSettings.engagement_threshold)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ConfigError(
            f"{path}: [impact] engagement_threshold must be a positive integer, got {threshold!r}"
        )
    window_weeks = raw.get("impact", {}).get("window_weeks", ImpactSettings.window_weeks)
    if not isinstance(window_weeks, int) or isinstance(window_weeks, bool) or window_weeks < 14:
        raise ConfigError(
            f"{path}: [impact] window_weeks must be a whole number of weeks, at least 14 (an event "
            f"window), got {window_weeks!r}"
        )
    anticipation = raw.get("impact", {}).get("anticipation_weeks", ImpactSettings.anticipation_weeks)
    if not isinstance(anticipation, int) or isinstance(anticipation, bool) or not 0 <= anticipation <= 4:
        raise ConfigError(
            f"{path}: [impact] anticipation_weeks must be a whole number of weeks within 0..4, "
            f"got {anticipation!r}"
        )
    landing_days = raw.get("retention", {}).get("landing_days", RetentionSettings.landing_days)
    if not isinstance(landing_days, int) or isinstance(landing_days, bool) or landing_days < 0:
        raise ConfigError(
            f"{path}: [retention] landing_days must be a whole number of days (0 or more), "
            f"got {landing_days!r}"
        )
    ingest = _ingest_limits(raw.get("ingest", {}), path)
    lock_wait = raw.get("locks", {}).get("wait_seconds", Settings.lock_wait_seconds)
    if not isinstance(lock_wait, int | float) or isinstance(lock_wait, bool) or lock_wait < 0:
        raise ConfigError(
            f"{path}: [locks] wait_seconds must be a number of seconds (0 or more), got {lock_wait!r}"
        )
    stale_after = raw.get("freshness", {}).get("stale_after_days", Settings.stale_after_days)
    if not isinstance(stale_after, int) or isinstance(stale_after, bool) or stale_after < 0:
        raise ConfigError(
            f"{path}: [freshness] stale_after_days must be a whole number of days (0 or more), "
            f"got {stale_after!r}"
        )
    try:
        crawler = crawler_settings(raw.get("crawler", {}), os.environ)
        search_console = search_console_settings(raw.get("search_console", {}))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return Settings(
        data=DataRoot(home_value.resolve()),
        owned_sites=tuple(domain.lower() for domain in owned),
        timezone=timezone,
        www_policy=www_policy,
        history_start=str(site.get("history_start", "2006-03-21")),
        warehouse_path=Path(warehouse).resolve() if warehouse else None,
        warehouse_memory_limit=memory_limit,
        lock_wait_seconds=float(lock_wait),
        stale_after_days=stale_after,
        config_file=path if path.exists() else None,
        impact=ImpactSettings(
            engagement_threshold=threshold, window_weeks=window_weeks, anticipation_weeks=anticipation
        ),
        retention=RetentionSettings(landing_days=landing_days),
        ingest=ingest,
        crawler=crawler,
        search_console=search_console,
    )
