"""What every ``socialrank`` subcommand module shares: the handler and registration types, run dates."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from pipeline.config import Settings

Handler = Callable[[Settings, argparse.Namespace], int]
AddCommand = Callable[[str, Handler, str], argparse.ArgumentParser]
JSON_HELP = "print one JSON document on stdout (logs stay on stderr)"


class JsonOutput:
    """``--json``: every command prints exactly one JSON document on stdout. Handlers print theirs with
    :meth:`print`; for a command that ended without one (an error before its summary existed) the CLI
    prints the exit code and the error instead."""

    def __init__(self) -> None:
        self.printed = False

    def print(self, document: Any) -> None:
        if self.printed:
            raise RuntimeError("a command printed a second JSON document")
        print(json.dumps(document, indent=2, default=str), flush=True)
        self.printed = True


json_output = JsonOutput()


def date_argument(text: str) -> dt.date:
    """``argparse`` type for YYYY-MM-DD dates."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def default_run_date(settings: Settings) -> dt.date:
    """Nightly semantics: yesterday, in the site's time zone."""
    return dt.datetime.now(settings.timezone).date() - dt.timedelta(days=1)
