"""AIStore's native API on the embedded server, so the AIStore SDK (``aistore``)
works against it: same storage, one namespace with S3.

Modules: routes (what a ``/v1`` request is, its token, its handler), buckets,
object_calls (plain and multipart), cluster (health, cluster map), wire (AIStore's JSON
errors, MessagePack listings, bearer tokens).
"""

from __future__ import annotations

from .routes import addressed, dispatch
from .wire import aistore_token

__all__ = ["addressed", "aistore_token", "dispatch"]
