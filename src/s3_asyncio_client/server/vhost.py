"""Virtual-host addressing: ``Host: <bucket>.<domain>[:port]`` names the bucket.

SDKs address buckets this way by default (``bucket.s3.amazonaws.com``); against this
server the base domain is ``localhost`` unless configured (``*.localhost`` is
loopback by RFC 6761, though not every resolver knows it). An IP literal, the bare
domain or any other name is path-style, so ``127.0.0.1:PORT`` keeps working.
"""

from __future__ import annotations

import ipaddress

__all__ = ["host_bucket"]


def host_bucket(host: str | None, domain: str) -> str | None:
    """The bucket a Host header names under ``domain``; None for path-style."""
    if not host or host.startswith("["):  # absent, or an IPv6 literal
        return None
    name = host.strip().lower().rpartition(":")[0] if ":" in host else host.strip().lower()
    name = name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    suffix = "." + domain.strip(".").lower()
    if len(name) > len(suffix) and name.endswith(suffix):
        return name[: -len(suffix)]
    return None
