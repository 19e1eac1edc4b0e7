"""The synchronous fluent API: ``Client -> Bucket -> Object -> multipart upload``.

    from s3_asyncio_client import Client
    with Client("http://127.0.0.1:8080") as client:
        bucket = client.bucket("demo").create(exist_ok=True)
        bucket.object("key").put_content(b"data")

Every call goes through the client's runner (``runner.py``) and its portal to the
public async API (``S3Client``, ``MultipartUpload``) running on one background loop
thread. This module and ``streams`` (readers, writers, multipart) hold no protocol
logic and no second implementation of any operation; the errors raised are the
async API's S3Error subclasses. Safe to use from many threads at once. A client is
closed by ``close()``, by leaving ``with``, or at the latest when the interpreter
exits.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Unpack

from ..client import (
    Body,
    ObjectSummary,
    PutResult,
    S3Client,
    TransferResult,
    WriteConditions,
    check_bucket,
    check_key,
)
from ..config import ConnectionConfig, ConnectionOptions, TransferConfig
from ..exceptions import (
    S3AccessDeniedError,
    S3ConflictError,
    S3InvalidRequestError,
    S3NoSuchBucketError,
)
from .runner import Runner
from .streams import ObjectReader, ObjectWriter, SyncMultipartUpload

__all__ = ["Bucket", "Client", "Object", "ObjectEntry", "ObjectProps"]


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    """One object of a listing."""

    name: str
    size: int
    etag: str
    last_modified: str


@dataclass(frozen=True, slots=True)
class ObjectProps:
    """What HEAD says about an object."""

    size: int
    etag: str
    content_type: str | None
    last_modified: str | None
    metadata: dict[str, str]


class Client:
    """A synchronous S3 client: ``Client(endpoint)``, then ``client.bucket(name)``.

    Connection settings, as for ``S3Client``: a ``ConnectionConfig`` as
    ``connection``, or its fields as keyword arguments (``access_key=``,
    ``region=``, ...), which override it; ``endpoint`` is ``endpoint_url``. Settings
    not given come from the environment and ``~/.aws``. ``min_part_size`` defaults
    to 0: the server decides how small a multipart part may be (S3 wants 5 MiB for
    all but the last; pass ``min_part_size=5 * 1024 * 1024`` to check that before
    completing). ``transfer_config`` is used by ``put_file`` and ``download_file``.
    Use it as a context manager or call ``close()``; a client left open is closed
    when the interpreter exits. Share it between threads freely; after ``os.fork()``
    the child gets its own loop thread and connections on first use (streams and
    iterators opened before stay behind).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        connection: ConnectionConfig | None = None,
        min_part_size: int = 0,
        transfer_config: TransferConfig | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        if endpoint is not None:
            if options.get("endpoint_url") not in (None, endpoint):
                raise S3InvalidRequestError(
                    f"the endpoint was given twice: {endpoint!r} and "
                    f"endpoint_url={options.get('endpoint_url')!r}"
                )
            options["endpoint_url"] = endpoint
        self.connection = (connection or ConnectionConfig()).with_options(**options)
        self.transfer_config = transfer_config or TransferConfig()
        make = functools.partial(S3Client, connection=self.connection, min_part_size=min_part_size)
        self._runner = Runner(make, "Client")
        self.endpoint = self._runner.endpoint_url
        self._finalizer = weakref.finalize(self, self._runner.close)

    def __repr__(self) -> str:
        return f"Client({self.endpoint!r}{', closed' if self.closed else ''})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._runner.closed

    def close(self) -> None:
        """Cancel calls still running, close the connections, stop the loop thread.
        Idempotent; calls after it raise RuntimeError."""
        self._finalizer.detach()
        self._runner.close()

    def bucket(self, name: str) -> Bucket:
        """A handle on bucket ``name`` (nothing is sent until it is used)."""
        return Bucket(self, name)

    def list_buckets(self) -> list[Bucket]:
        return [self.bucket(info["name"]) for info in self._runner.call(S3Client.list_buckets)]


class Bucket:
    """A bucket: create, inspect, list and delete it; ``object(key)`` for its objects."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = check_bucket(name)
        self._runner = client._runner

    def __repr__(self) -> str:
        return f"Bucket({self.name!r})"

    def create(self, exist_ok: bool = False) -> Bucket:
        """Create the bucket; returns it. An existing bucket raises S3ConflictError
        unless ``exist_ok``."""
        if not exist_ok:
            # S3 in us-east-1 (and moto) answers 200 when you re-create a bucket you
            # own, so ask first: the promise here is an error for an existing bucket.
            try:
                self.head()
            except (S3NoSuchBucketError, S3AccessDeniedError):
                pass
            else:
                raise S3ConflictError(
                    f"bucket {self.name!r} already exists; pass exist_ok=True to use it",
                    status_code=409,
                    error_code="BucketAlreadyOwnedByYou",
                    bucket=self.name,
                )
        self._runner.call(S3Client.create_bucket, self.name, exist_ok=exist_ok)
        return self

    def delete(self, missing_ok: bool = False) -> None:
        """Delete the (empty) bucket; a missing one raises S3NoSuchBucketError
        unless ``missing_ok``."""
        try:
            self._runner.call(S3Client.delete_bucket, self.name)
        except S3NoSuchBucketError:
            if not missing_ok:
                raise

    def head(self) -> dict[str, str]:
        """The bucket's region when the server says; S3NoSuchBucketError if missing."""
        return self._runner.call(S3Client.head_bucket, self.name)

    def exists(self) -> bool:
        try:
            self.head()
        except S3NoSuchBucketError:
            return False
        return True

    def list_objects(self, prefix: str | None = None) -> list[ObjectEntry]:
        """Every object under ``prefix`` (all pages, in one list); for very large
        buckets iterate ``list_all_objects_iter`` instead."""

        async def collect(s3: S3Client) -> list[ObjectSummary]:
            return [item async for item in s3.iter_objects(self.name, prefix=prefix)]

        return [_entry(item) for item in self._runner.call(collect)]

    def list_all_objects_iter(
        self, prefix: str | None = None, *, page_size: int | None = None
    ) -> Iterator[ObjectEntry]:
        """Every object under ``prefix``, fetched page by page as you iterate."""
        items = self._runner.iterate(
            lambda s3: s3.iter_objects(self.name, prefix=prefix, page_size=page_size)
        )
        return (_entry(item) for item in items)

    def object(self, key: str) -> Object:
        return Object(self, key)


def _entry(item: ObjectSummary) -> ObjectEntry:
    return ObjectEntry(item["key"], item["size"], item["etag"], item["last_modified"])


class Object:
    """An object: read, write, copy, delete it, or upload it in parts."""

    def __init__(self, bucket: Bucket, name: str) -> None:
        self.bucket = bucket
        self.name = check_key(name, bucket.name)
        self._runner = bucket._runner
        self._props: ObjectProps | None = None

    def __repr__(self) -> str:
        return f"Object({self.bucket_name!r}, {self.name!r})"

    @property
    def client(self) -> Client:
        return self.bucket.client

    @property
    def bucket_name(self) -> str:
        return self.bucket.name

    def head(self) -> ObjectProps:
        """Size, ETag, content type and metadata; S3NoSuchKeyError if missing."""
        info = self._runner.call(S3Client.head_object, self.bucket_name, self.name)
        self._props = ObjectProps(
            size=info["content_length"],
            etag=info["etag"],
            content_type=info["content_type"],
            last_modified=info["last_modified"],
            metadata=info["metadata"],
        )
        return self._props

    @property
    def props(self) -> ObjectProps:
        """The properties from the last ``head()``; fetched now if there were none."""
        return self._props or self.head()

    def get_reader(self, byte_range: tuple[int, int | None] | None = None) -> ObjectReader:
        """A reader of the object, or of ``byte_range`` (first, last inclusive)."""
        return ObjectReader(self, byte_range)

    def get_writer(self) -> ObjectWriter:
        return ObjectWriter(self)

    def put_content(
        self,
        data: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **conditions: Unpack[WriteConditions],
    ) -> PutResult:
        """``if_none_match="*"`` / ``if_match=etag``: as ``S3Client.put_object``."""
        writer = self.get_writer()
        return writer.put_content(data, content_type=content_type, metadata=metadata, **conditions)

    def put_file(
        self, path: str | os.PathLike[str], **conditions: Unpack[WriteConditions]
    ) -> TransferResult:
        return self.get_writer().put_file(path, **conditions)

    def download_file(self, path: str | os.PathLike[str]) -> TransferResult:
        """Download to ``path`` with ``S3Client.download_file``: parallel ranged GETs
        (see the client's ``transfer_config``), written into a temporary file beside
        ``path`` that replaces it only once complete."""
        return self._runner.call(
            S3Client.download_file,
            self.bucket_name,
            self.name,
            path,
            config=self.client.transfer_config,
        )

    def delete(self) -> None:
        """Delete the object; deleting a missing key succeeds, as on S3."""
        self._runner.call(S3Client.delete_object, self.bucket_name, self.name)

    def copy(
        self, to: Object | tuple[Bucket | str, str], **conditions: Unpack[WriteConditions]
    ) -> Object:
        """Copy server-side to ``to`` (an Object, or (bucket, key)); returns it. The
        conditions (``if_none_match``, ``if_match``) are the target's."""
        if isinstance(to, Object):
            target = to
        else:
            try:
                bucket, key = to
            except (TypeError, ValueError):
                raise S3InvalidRequestError(
                    f"copy target must be an Object or (bucket, key), got {to!r}"
                ) from None
            target = (bucket if isinstance(bucket, Bucket) else self.client.bucket(bucket)).object(
                key
            )
        self._runner.call(
            S3Client.copy_object,
            self.bucket_name,
            self.name,
            target.bucket_name,
            target.name,
            **conditions,
        )
        return target

    def multipart_upload(self) -> SyncMultipartUpload:
        """A multipart upload of this object; ``create()`` starts it."""
        return SyncMultipartUpload(self)
