"""NOTIFY_URL: the run report POSTed as JSON when a run ends, whether it worked or not.

A notification is a courtesy: a webhook that is down, slow or refusing is retried once after a
short timeout and then logged as a warning; it never changes the run's exit status.  A
``user:password@`` in the URL is sent as HTTP Basic credentials.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from processor.masking import mask, mask_values, shown_notify_url

log = logging.getLogger(__name__)

#: Seconds to wait for the webhook to answer, per attempt.
TIMEOUT_SECONDS = 5.0
#: The first try and one retry.
ATTEMPTS = 2
#: Seconds between the attempts.
RETRY_PAUSE_SECONDS = 1.0


def notify(url: str, report: dict[str, Any], secrets: Sequence[str]) -> bool:
    """POST ``report`` (``secrets`` masked) to ``url``; whether it was delivered (a 2xx answer).

    A failure is logged as a warning naming the URL without its own secrets (all after its host)."""
    body = json.dumps(mask_values(report, secrets), ensure_ascii=False).encode("utf-8")
    address, credentials = _without_userinfo(url)
    headers = {"Content-Type": "application/json", "User-Agent": "csv-sql-importer"}
    if credentials:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    request = urllib.request.Request(address, data=body, headers=headers, method="POST")
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                response.read()
            return True
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            problem = str(getattr(error, "reason", None) or error)
        if attempt < ATTEMPTS:
            time.sleep(RETRY_PAUSE_SECONDS)
    shown = shown_notify_url(url)
    log.warning(
        "NOTIFY_URL %s: the run report could not be delivered (%d attempts): %s; the run's outcome stands",
        shown,
        ATTEMPTS,
        mask(problem.replace(url, shown), secrets),
        extra={"event": "notify_failed"},
    )
    return False


def _without_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without its ``user:password@`` (urllib would take it for part of the host), and
    that ``user:password``, sent as HTTP Basic credentials."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), f"{user}:{password}"
