"""The synchronous facade: the fluent ``Client`` (``fluent``) and its readers and
writers (``streams``), run on one background event loop (``portal``, ``handoff``,
``loops``) that runs the async ``S3Client`` (``runner``).

``new_event_loop`` is the loop this package runs itself (uvloop's when installed),
for other synchronous entry points such as the command line.
"""

from .fluent import Bucket, Client, Object, ObjectEntry, ObjectProps
from .loops import new_event_loop
from .streams import (
    CompleteResponse,
    ObjectReader,
    ObjectStream,
    ObjectWriter,
    PartWriter,
    SyncMultipartUpload,
)

__all__ = [
    "Bucket",
    "Client",
    "CompleteResponse",
    "Object",
    "ObjectEntry",
    "ObjectProps",
    "ObjectReader",
    "ObjectStream",
    "ObjectWriter",
    "PartWriter",
    "SyncMultipartUpload",
    "new_event_loop",
]
