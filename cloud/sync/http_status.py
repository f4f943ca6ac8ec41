"""What an HTTP answer means for an outbox entry: delivered, retry, or never."""

from __future__ import annotations

import httpx

from cloud.sync.worker import PermanentError

#: 4xx answers that describe the moment, not the request: worth retrying.
RETRYABLE_4XX = frozenset({408, 409, 423, 425, 429})


def check(resp: httpx.Response, what: str) -> None:
    """Return on 2xx; raise PermanentError on a request the receiver will never accept;
    raise ``httpx.HTTPStatusError`` (retried) on anything else."""
    if resp.is_success:
        return
    detail = (
        f"{what}: HTTP {resp.status_code} from {resp.request.method} {resp.request.url}: {resp.text[:200]}"
    )
    if 400 <= resp.status_code < 500 and resp.status_code not in RETRYABLE_4XX:
        raise PermanentError(detail)
    raise httpx.HTTPStatusError(detail, request=resp.request, response=resp)
