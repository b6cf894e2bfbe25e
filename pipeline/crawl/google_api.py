"""What the Google API clients (Search Console, GA4 Data API) share: JSON POSTs through the crawler's HTTP
client (its retries, backoff, time budget and address guard) with an OAuth token, refreshed once on a 401,
and answers read as JSON objects, or failures raised as the client's own error, naming what was asked, the
API's status and message and, where the client knows it, what to fix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.auth.credentials import Credentials
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request as AuthRequest

from pipeline.crawl.http import FetchFailed, HttpClient, HttpResponse


class GoogleApi:
    def __init__(
        self,
        http: HttpClient,
        credentials: Credentials,
        error: type[Exception],
        max_bytes: int,
        fixes: Mapping[int, str] | None = None,
    ) -> None:
        """``error``: the client's exception, raised with one message; ``fixes``: what to do about an
        HTTP status, added to its message."""
        self.http = http
        self.credentials = credentials
        self.error = error
        self.max_bytes = max_bytes
        self.fixes = dict(fixes or {})
        self.requests = 0
        self._auth_request = AuthRequest(session=http.session)

    def post(self, subject: str, url: str, body: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """The raw answer to one request and its JSON object; ``subject`` (the site, the property) begins
        every error message."""
        for attempt in (1, 2):
            headers: dict[str, str] = {}
            try:
                self.credentials.before_request(self._auth_request, "POST", url, headers)  # type: ignore[no-untyped-call]
                response = self.http.request(
                    "POST", url, headers=headers, json_body=dict(body), max_bytes=self.max_bytes
                )
            except GoogleAuthError as exc:
                raise self.error(f"{subject}: cannot obtain an access token: {exc}") from exc
            except FetchFailed as failure:
                raise self.error(f"{subject}: {failure.message}") from failure
            self.requests += 1
            if response.status == 401 and attempt == 1 and self.credentials.token is not None:
                try:
                    self.credentials.refresh(self._auth_request)  # type: ignore[no-untyped-call]
                except GoogleAuthError as exc:
                    raise self.error(f"{subject}: access token refused and not refreshable: {exc}") from exc
                continue
            return response.body, self._answer(subject, response)
        raise self.error(f"{subject}: still unauthorised after refreshing the access token")

    def _answer(self, subject: str, response: HttpResponse) -> dict[str, Any]:
        if response.truncated:
            raise self.error(f"{subject}: response larger than {self.max_bytes} bytes")
        try:
            data = json.loads(response.body) if response.body else {}
        except ValueError as exc:
            raise self.error(f"{subject}: HTTP {response.status} with a body that is not JSON") from exc
        if response.status != 200:
            error = data.get("error") if isinstance(data, dict) else None
            error = error if isinstance(error, dict) else {}
            status = f" {error['status']}" if error.get("status") else ""
            retry = response.headers.get("retry-after")
            hint = f"; the API asks to retry after {retry}s" if retry else ""
            fix = f". Fix: {self.fixes[response.status]}" if response.status in self.fixes else ""
            message = error.get("message") or "no message"
            raise self.error(f"{subject}: HTTP {response.status}{status}: {message}{hint}{fix}")
        if not isinstance(data, dict):
            raise self.error(f"{subject}: unexpected response {str(data)[:200]!r}")
        return data
