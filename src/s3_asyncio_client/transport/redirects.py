"""Which 307/308 replies are followed, and where to (the Transport's rule 6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from urllib.parse import urljoin, urlsplit

from ..protocol.http import HttpRequest, HttpResponse

__all__ = ["MAX_REDIRECTS", "RedirectPolicy", "redirected"]

MAX_REDIRECTS = 3  # AIStore needs one (gateway -> storage node); more is a loop
RedirectPolicy = Callable[[Mapping[str, str]], bool]  # a 307/308 reply's headers -> follow?


def redirected(
    request: HttpRequest, response: HttpResponse | None, hops: int, policy: RedirectPolicy | None
) -> HttpRequest | None:
    """``request`` sent to the Location of its 307/308 reply, or None to take the
    reply as it is: at most MAX_REDIRECTS hops, only where ``policy`` says so, to
    http(s), never from https to http."""
    if response is None or response.status not in (307, 308) or hops >= MAX_REDIRECTS:
        return None
    location = response.headers.get("location")
    if not location or policy is None or not policy(response.headers):
        return None
    url = urljoin(request.url, location)
    scheme, old_scheme = urlsplit(url).scheme.lower(), urlsplit(request.url).scheme.lower()
    if scheme not in ("http", "https") or (old_scheme == "https" and scheme == "http"):
        return None
    return dataclasses.replace(request, url=url)
