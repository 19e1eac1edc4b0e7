"""HTTP for the protocol layer: the only package that imports aiohttp.

``session``: the Transport (one aiohttp session, signing, retries, clock skew);
``slots``: connections handed out first come, first served; ``bodies``: request
bodies, failing when they stop going out; ``replies``: reply bodies read whole,
within limits; ``streaming``: replies read on demand; ``redirects``: which 307s are
followed; ``errors``: the translation of foreign exceptions into S3Errors.
"""

from .session import Transport
from .streaming import StreamingResponse

__all__ = ["StreamingResponse", "Transport"]
