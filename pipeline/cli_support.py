"""What every ``socialrank`` subcommand module shares: the handler and registration types, run dates."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from pipeline.config import Settings

Handler = Callable[[Settings, argparse.Namespace], int]
AddCommand = Callable[[str, Handler, str], argparse.ArgumentParser]


def date_argument(text: str) -> dt.date:
    """``argparse`` type for YYYY-MM-DD dates."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def default_run_date(settings: Settings) -> dt.date:
    """Nightly semantics: yesterday, in the site's time zone."""
    return dt.datetime.now(settings.timezone).date() - dt.timedelta(days=1)
