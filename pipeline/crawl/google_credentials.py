"""Google credentials for the API clients (Search Console, GA4 Data API): from an Airflow connection or
the environment, loaded by google-auth for the scopes the client asks for.

Service account keys, authorized-user refresh tokens or a bare OAuth access token. Only those two key
types are accepted: google-auth's generic loader would also run "external account" configurations
(arbitrary executables and URLs), which a credentials file must not smuggle in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import google.oauth2.credentials
import google.oauth2.service_account
from google.auth.credentials import Credentials
from google.auth.exceptions import GoogleAuthError

ENV_GOOGLE_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"
# What unusable credentials raise: a key of the wrong type or shape, an unreadable file, google-auth refusing.
Unusable = (GoogleAuthError, ValueError, OSError)


@dataclass(frozen=True)
class LoadedCredentials:
    credentials: Credentials
    source: str  # where they came from, for logs (never the secret itself)


# google-auth's loaders carry no type hints: these are the typed doors to them.
def from_info(info: Mapping[str, Any], scopes: Sequence[str]) -> Credentials:
    kind = info.get("type")
    keys, users = google.oauth2.service_account.Credentials, google.oauth2.credentials.Credentials
    if kind == "service_account":
        loaded = keys.from_service_account_info(dict(info), scopes=list(scopes))  # type: ignore[no-untyped-call]
    elif kind == "authorized_user":
        loaded = users.from_authorized_user_info(dict(info), scopes=list(scopes))  # type: ignore[no-untyped-call]
    else:
        raise ValueError(f"credentials of type {kind!r}: expected 'service_account' or 'authorized_user'")
    return cast(Credentials, loaded)


def from_file(path: str, scopes: Sequence[str]) -> Credentials:
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable credentials JSON file ({exc})") from exc
    if not isinstance(info, dict):
        raise ValueError(f"{path}: not a credentials JSON object")
    return from_info(info, scopes)


def from_token(token: str, scopes: Sequence[str]) -> Credentials:
    return google.oauth2.credentials.Credentials(token, scopes=list(scopes))  # type: ignore[no-untyped-call]


def from_connection_extra(
    extra: Mapping[str, Any], password: str | None, scopes: Sequence[str]
) -> Credentials | None:
    """Google-provider style connection extras: ``keyfile_dict`` (service account or authorized user JSON),
    ``key_path`` (a file of either), or an OAuth ``access_token`` (also accepted as the password)."""
    fields = {key.removeprefix("extra__google_cloud_platform__"): value for key, value in extra.items()}
    if keyfile := fields.get("keyfile_dict"):
        return from_info(json.loads(keyfile) if isinstance(keyfile, str) else keyfile, scopes)
    if key_path := fields.get("key_path"):
        return from_file(str(key_path), scopes)
    if token := fields.get("access_token") or password:
        return from_token(str(token), scopes)
    return None


def from_airflow(connection_id: str, scopes: Sequence[str]) -> LoadedCredentials | None:
    """The Airflow connection ``connection_id`` inside a task, or ``None`` when it is not defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get(connection_id)
    except AirflowNotFoundException:
        return None
    credentials = from_connection_extra(connection.extra_dejson, connection.password, scopes)
    return LoadedCredentials(credentials, f"Airflow connection {connection_id!r}") if credentials else None


def from_env(
    environ: Mapping[str, str], token_variable: str, file_variable: str, scopes: Sequence[str]
) -> LoadedCredentials | None:
    """An access token, else a credentials file (the client's own variables, then Google's)."""
    if token := environ.get(token_variable):
        return LoadedCredentials(from_token(token, scopes), token_variable)
    for variable in (file_variable, ENV_GOOGLE_CREDENTIALS):
        if path := environ.get(variable):
            return LoadedCredentials(from_file(path, scopes), f"{variable} ({path})")
    return None


def find(
    connection_id: str,
    environ: Mapping[str, str],
    in_airflow: bool,
    token_variable: str,
    file_variable: str,
    scopes: Sequence[str],
) -> LoadedCredentials | None:
    """The Airflow connection first (inside a task), then the environment; ``None`` when neither has any,
    one of :data:`Unusable` when what is there cannot be used."""
    found = from_airflow(connection_id, scopes) if in_airflow else None
    return found or from_env(environ, token_variable, file_variable, scopes)
