"""Settings: one TOML file (``socialrank.toml``) plus environment variables.

The file is the first of: the one ``--config`` or ``SOCIALRANK_CONFIG`` names, ``./socialrank.toml``,
``$SOCIALRANK_HOME/socialrank.toml``; the log names the one used. ``socialrank init`` writes one. Without
any, commands that need the owned sites stop and say so; nothing falls back to a made-up site. The data
root comes from ``SOCIALRANK_HOME`` (default ``./data``). Secrets never live here: they come from Airflow
connections or the environment.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.crawl.settings import (
    CrawlerSettings,
    Ga4Settings,
    SearchConsoleSettings,
    crawler_settings,
    ga4_settings,
    search_console_settings,
)
from pipeline.hosts import WWW_POLICIES, NotAHostName, owned_hosts
from pipeline.project import var

log = logging.getLogger(__name__)

DEFAULT_CONFIG_NAME = "socialrank.toml"
CONFIG_ENV = "SOCIALRANK_CONFIG"
HOME_ENV = "SOCIALRANK_HOME"
DEFAULT_TIMEZONE = "America/Los_Angeles"
INIT_HINT = "socialrank init --site your-site.example"
# Configuration files this process has named in its log, with how each was found.
_announced: set[tuple[Path, str]] = set()


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
class TrafficSettings:
    """``[traffic]``: referrer hosts that are a social platform beyond pipeline/referrals.py's table
    (a community's Mastodon instance, a platform's new link shim), as (host, platform) pairs."""

    social_hosts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Settings:
    data: DataRoot
    # The owned sites as canonical hosts (normalised on construction: lower case, punycode, ``www.`` by
    # ``www_policy``), the form the owned-site rule (pipeline.hosts) matches.
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
    ga4: Ga4Settings = field(default_factory=Ga4Settings)
    impact: ImpactSettings = field(default_factory=ImpactSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    ingest: IngestLimits = field(default_factory=IngestLimits)
    traffic: TrafficSettings = field(default_factory=TrafficSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "owned_sites", owned_hosts(self.owned_sites, self.www_policy))

    @property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.data.warehouse_dir / "warehouse.duckdb"


def parse_timezone(name: object) -> ZoneInfo:
    """An IANA time zone by name; ``ValueError`` naming the nearest known zones otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"a time zone is a name such as 'Europe/Berlin', got {name!r}")
    # 'localtime' is this machine's zone file, not a zone DuckDB knows: days need a named zone.
    if name != "localtime":
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError, OSError):
            pass
    nearest = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones() - {"localtime"}), n=3)
    quoted = [repr(zone) for zone in nearest]
    hint = f"did you mean {' or '.join(quoted)}?" if quoted else "e.g. 'Europe/Berlin'"
    raise ValueError(f"unknown time zone {name!r}: use an IANA name ({hint})")


def parse_owned_sites(value: object, www_policy: str) -> tuple[str, ...]:
    """``[site] owned_sites`` as canonical hosts; ``ValueError`` saying what to write otherwise."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'owned_sites must be a list of domain names such as ["mysite.io"], got {value!r}')
    try:
        return owned_hosts(value, www_policy)
    except NotAHostName as exc:
        raise ValueError(f"owned_sites: {exc}") from exc


def find_config(config_path: Path | None = None, home: Path | None = None) -> tuple[Path | None, str]:
    """The configuration file and how it was found: ``config_path`` (``--config``), ``$SOCIALRANK_CONFIG``,
    ``./socialrank.toml``, ``$SOCIALRANK_HOME/socialrank.toml`` (``home`` in its place), the first that
    applies. ``(None, where it looked)`` when there is none; a named file that does not exist is an error."""
    env_config = os.environ.get(CONFIG_ENV)
    named = config_path or (Path(env_config) if env_config else None)
    if named is not None:
        how = "--config" if config_path else f"${CONFIG_ENV}"
        if not named.is_file():
            raise ConfigError(
                f"configuration file {named} ({how}) does not exist: write it with '{INIT_HINT}'"
            )
        return named, how
    home_text = str(home) if home is not None else os.environ.get(HOME_ENV)
    candidates = [(Path.cwd() / DEFAULT_CONFIG_NAME, "the current folder")]
    if home_text:
        candidates.append((Path(home_text) / DEFAULT_CONFIG_NAME, f"${HOME_ENV}"))
    for candidate, how in candidates:
        if candidate.is_file():
            return candidate, how
    looked = [f"${CONFIG_ENV} is not set", *(f"no {candidate}" for candidate, _ in candidates)]
    if not home_text:
        looked.append(f"${HOME_ENV} is not set")
    return None, ", ".join(looked)


def _ingest_limits(raw: dict[str, Any], where: str) -> IngestLimits:
    values: dict[str, int] = {}
    for key, attribute in (
        ("memory_limit_mb", "memory_mb"),
        ("cpu_limit_seconds", "cpu_seconds"),
        ("wall_limit_seconds", "wall_seconds"),
    ):
        value = raw.get(key, getattr(IngestLimits, attribute))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}: [ingest] {key} must be a positive whole number, got {value!r}")
        values[attribute] = value
    return IngestLimits(**values)


def _traffic_settings(raw: dict[str, Any], where: str) -> TrafficSettings:
    hosts = raw.get("social_hosts", {})
    if not isinstance(hosts, dict):
        raise ConfigError(
            f'{where}: [traffic] social_hosts must be a table such as {{"mstdn.example" = "mastodon"}}'
        )
    pairs = []
    for host, platform in sorted(hosts.items()):
        if platform not in var("platforms"):
            raise ConfigError(
                f"{where}: [traffic] social_hosts: {host!r} = {platform!r}: the platform must be one of "
                f"{', '.join(var('platforms'))}"
            )
        name = host.strip().lower().removeprefix("www.")
        if not name or any(character in name for character in "/: ") or "." not in name:
            raise ConfigError(
                f"{where}: [traffic] social_hosts: {host!r} is not a host name (no scheme, path or port)"
            )
        pairs.append((name, platform))
    return TrafficSettings(social_hosts=tuple(pairs))


def load_settings(
    config_path: Path | None = None, home: Path | None = None, *, require_sites: bool = False
) -> Settings:
    """Read settings from the configuration file (:func:`find_config`) and the environment; the
    environment wins for the data root. With ``require_sites``, no file or no owned sites is a
    :class:`ConfigError` that says how to write one."""
    path, how = find_config(config_path, home)
    where = str(path) if path is not None else "no configuration file"
    raw: dict[str, Any] = {}
    if path is None:
        if require_sites:
            raise ConfigError(
                f"no configuration found ({how}): write one with '{INIT_HINT}' in the folder you run "
                f"socialrank from (or set ${CONFIG_ENV} to a socialrank.toml)"
            )
    else:
        if (
            path.resolve(),
            how,
        ) not in _announced:  # once per process: DAG files load settings at every parse
            _announced.add((path.resolve(), how))
            log.info("configuration: %s (%s)", path.resolve(), how)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    site = raw.get("site", {})
    home_value = home or Path(os.environ.get(HOME_ENV) or raw.get("data", {}).get("home") or "data")
    try:
        timezone = parse_timezone(site.get("timezone", DEFAULT_TIMEZONE))
    except ValueError as exc:
        raise ConfigError(f"{where}: [site] timezone: {exc}") from exc
    www_policy = site.get("www_policy", "strip")
    if www_policy not in WWW_POLICIES:
        raise ConfigError(f"{where}: [site] www_policy must be 'strip' or 'keep', got {www_policy!r}")
    try:
        owned = parse_owned_sites(site.get("owned_sites", []), www_policy)
    except ValueError as exc:
        raise ConfigError(f"{where}: [site] {exc}") from exc
    if require_sites and not owned:
        raise ConfigError(
            f'{where} names no owned sites: add owned_sites = ["your-site.example"] under [site] '
            f"(or write a new file with '{INIT_HINT} --force')"
        )
    warehouse = raw.get("warehouse", {}).get("path")
    memory_limit = raw.get("warehouse", {}).get("memory_limit", Settings.warehouse_memory_limit)
    if not isinstance(memory_limit, str) or not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
        raise ConfigError(f"{where}: [warehouse] memory_limit must look like '4GB', got {memory_limit!r}")
    threshold = raw.get("impact", {}).get("engagement_threshold", ImpactSettings.engagement_threshold)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ConfigError(
            f"{where}: [impact] engagement_threshold must be a positive integer, got {threshold!r}"
        )
    window_weeks = raw.get("impact", {}).get("window_weeks", ImpactSettings.window_weeks)
    if not isinstance(window_weeks, int) or isinstance(window_weeks, bool) or window_weeks < 14:
        raise ConfigError(
            f"{where}: [impact] window_weeks must be a whole number of weeks, at least 14 (an event "
            f"window), got {window_weeks!r}"
        )
    anticipation = raw.get("impact", {}).get("anticipation_weeks", ImpactSettings.anticipation_weeks)
    if not isinstance(anticipation, int) or isinstance(anticipation, bool) or not 0 <= anticipation <= 4:
        raise ConfigError(
            f"{where}: [impact] anticipation_weeks must be a whole number of weeks within 0..4, "
            f"got {anticipation!r}"
        )
    landing_days = raw.get("retention", {}).get("landing_days", RetentionSettings.landing_days)
    if not isinstance(landing_days, int) or isinstance(landing_days, bool) or landing_days < 0:
        raise ConfigError(
            f"{where}: [retention] landing_days must be a whole number of days (0 or more), "
            f"got {landing_days!r}"
        )
    ingest = _ingest_limits(raw.get("ingest", {}), where)
    traffic = _traffic_settings(raw.get("traffic", {}), where)
    lock_wait = raw.get("locks", {}).get("wait_seconds", Settings.lock_wait_seconds)
    if not isinstance(lock_wait, int | float) or isinstance(lock_wait, bool) or lock_wait < 0:
        raise ConfigError(
            f"{where}: [locks] wait_seconds must be a number of seconds (0 or more), got {lock_wait!r}"
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
        ga4 = ga4_settings(raw.get("ga4", {}))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return Settings(
        data=DataRoot(home_value.resolve()),
        owned_sites=owned,
        timezone=timezone,
        www_policy=www_policy,
        history_start=str(site.get("history_start", "2006-03-21")),
        warehouse_path=Path(warehouse).resolve() if warehouse else None,
        warehouse_memory_limit=memory_limit,
        lock_wait_seconds=float(lock_wait),
        stale_after_days=stale_after,
        config_file=path,
        impact=ImpactSettings(
            engagement_threshold=threshold, window_weeks=window_weeks, anticipation_weeks=anticipation
        ),
        retention=RetentionSettings(landing_days=landing_days),
        ingest=ingest,
        traffic=traffic,
        crawler=crawler,
        search_console=search_console,
        ga4=ga4,
    )
