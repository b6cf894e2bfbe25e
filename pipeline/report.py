"""The HTML report: one self-contained file (no network needed to view it) read from the published
warehouse: headline estimates with their intervals, the correlation table, data coverage, the gate."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.config import Settings
from pipeline.warehouse import PUBLISHED_MANIFEST, connect_read_only

log = logging.getLogger(__name__)

REPORT_NAME = "socialrank-report.html"
HEADLINE_OUTCOME, HEADLINE_HORIZON = "position", "days_28_56"


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    columns = [description[0] for description in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _interval_chart(estimates: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of a horizontal interval plot (inline SVG), one row per platform."""
    usable = [e for e in estimates if e["estimate"] is not None]
    bound = max([abs(v) for e in usable for v in (e["ci_low"], e["ci_high"])] + [1.0])
    width, left, row_height = 640, 110, 28

    def x(value: float) -> float:
        return float(left + (value + bound) / (2 * bound) * (width - left - 20))

    rows = [
        {
            "label": e["platform"],
            "y": 20 + i * row_height,
            "x_low": x(e["ci_low"]),
            "x_high": x(e["ci_high"]),
            "x_est": x(e["estimate"]),
            "estimate": e["estimate"],
        }
        for i, e in enumerate(usable)
    ]
    return {
        "rows": rows,
        "width": width,
        "height": 40 + len(rows) * row_height,
        "x_zero": x(0.0),
        "bound": bound,
        "left": left,
    }


def gather(settings: Settings) -> dict[str, Any]:
    con = connect_read_only(settings.warehouse)
    try:
        info = _rows(
            con,
            "SELECT version, run_date, as_of, built_at, site_timezone, owned_sites, lake_rows "
            "FROM meta.build_info",
        )[0]
        estimates = _rows(con, "SELECT * FROM mart.impact_estimates ORDER BY platform, outcome, horizon")
        correlations = _rows(con, "SELECT * FROM mart.factor_correlations ORDER BY factor")
        deliveries = _rows(
            con,
            "SELECT landing_path, format, status, records_read, records_kept, "
            "records_quarantined, message FROM core.deliveries ORDER BY landing_path",
        )
        quarantined = _rows(
            con,
            "SELECT landing_path, member, location, reason FROM core.quarantined_records "
            "ORDER BY landing_path, location LIMIT 50",
        )
        tables = _rows(
            con,
            "SELECT schema_name || '.' || table_name AS name, estimated_size AS rows "
            "FROM duckdb_tables() WHERE schema_name IN ('core', 'mart') ORDER BY name",
        )
    finally:
        con.close()
    manifest_path = settings.warehouse.parent / PUBLISHED_MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    headline = [e for e in estimates if e["outcome"] == HEADLINE_OUTCOME and e["horizon"] == HEADLINE_HORIZON]
    return {
        "info": info,
        "estimates": estimates,
        "headline": headline,
        "chart": _interval_chart(headline),
        "correlations": correlations,
        "deliveries": deliveries,
        "quarantined": quarantined,
        "tables": tables,
        "gate": manifest.get("gate", {}),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "headline_horizon": HEADLINE_HORIZON,
    }


def write_report(settings: Settings) -> Path:
    """Render the report from the published warehouse into ``reports/``; return its path."""
    environment = Environment(loader=PackageLoader("pipeline", "templates"), autoescape=select_autoescape())
    html = environment.get_template("report.html.j2").render(**gather(settings))
    settings.data.reports.mkdir(parents=True, exist_ok=True)
    path = settings.data.reports / REPORT_NAME
    staged = path.with_name(path.name + ".inprogress")
    staged.write_text(html, encoding="utf-8")
    staged.replace(path)
    log.info("report written to %s", path)
    return path
