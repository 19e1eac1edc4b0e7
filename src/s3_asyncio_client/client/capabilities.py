"""What a client knows of its endpoint, in one place: what its settings say, and what
the server's replies have shown.

AIStore's S3 endpoint (``http://gateway:port/s3``) differs from S3 in ways the client
must respect; when the endpoint is AIStore (``flavor="aistore"``, or with "auto" an
endpoint URL whose path ends in ``/s3``, or a reply with ``Server: AIStore``):

- at most 9,999 parts (its chunk numbers are 16-bit, capped at 9,999): part sizes are
  planned for that, and part 10,000 is refused before it is sent;
- no 5 MiB minimum part size: the check before completion is off;
- no UploadPartCopy (a PUT with ``x-amz-copy-source`` is always a whole CopyObject
  there, so a part copy would overwrite the target): ``copy_file`` beyond one
  CopyObject copies through the client, and ``upload_part_copy`` is refused;
- completion needs parts exactly 1..N: a gap is refused before it is sent;
- its gateway answers object requests with 307 to the storage node that holds the
  object: the client follows them (re-signed, the body sent again).

Request bodies are never aws-chunked (a checksum travels in a header), which older
AIStore releases do not decode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from ..config import Flavor
from ..protocol.limits import MAX_PARTS

__all__ = ["AISTORE_MAX_PARTS", "EndpointCapabilities", "is_aistore_url"]

AISTORE_MAX_PARTS = 9_999
_AISTORE_SERVER = "aistore"  # the Server header of its gateway's replies, any case


def is_aistore_url(url: str) -> bool:
    """True for an endpoint URL shaped like AIStore's S3 one: its path ends in ``/s3``."""
    return urlsplit(url).path.rstrip("/").endswith("/s3")


class EndpointCapabilities:
    """The endpoint of one ``S3Client``, as far as uploads are concerned.

    ``min_part_size``: the smallest part (but the last) the server accepts, checked
    before a multipart upload is completed (0 on AIStore); ``signs_payload``: bodies
    are SHA-256 signed, so a file part's hash is computed before it is sent;
    ``checksums_ignored``: the server was seen to ignore ``x-amz-checksum-*`` headers,
    so uploads carry Content-MD5 too, which every S3 server verifies. Only a reply can
    set the last, through ``note_checksums_ignored``, and it stays set for the
    client's lifetime; so does ``aistore`` once a reply has shown it.
    """

    __slots__ = ("_aistore", "_checksums_ignored", "_flavor", "_signs_payload", "min_part_size")

    def __init__(
        self,
        min_part_size: int,
        signs_payload: bool,
        flavor: Flavor = "auto",
        endpoint_url: str = "",
    ) -> None:
        self.min_part_size = min_part_size
        self._signs_payload = signs_payload
        self._checksums_ignored = False
        self._flavor = flavor
        self._aistore = False
        if flavor == "aistore" or (flavor == "auto" and is_aistore_url(endpoint_url)):
            self.note_aistore()

    def __repr__(self) -> str:
        return (
            f"EndpointCapabilities(min_part_size={self.min_part_size}, "
            f"signs_payload={self._signs_payload}, checksums_ignored={self._checksums_ignored}, "
            f"aistore={self._aistore})"
        )

    @property
    def signs_payload(self) -> bool:
        return self._signs_payload

    @property
    def checksums_ignored(self) -> bool:
        return self._checksums_ignored

    def note_checksums_ignored(self) -> None:
        """A reply did not echo the checksum sent with it."""
        self._checksums_ignored = True

    @property
    def aistore(self) -> bool:
        """The endpoint is AIStore's S3 API (configured, or detected)."""
        return self._aistore

    def note_aistore(self) -> None:
        """The endpoint is AIStore: its limits apply from now on (unless ``flavor="s3"``)."""
        if self._flavor != "s3":
            self._aistore = True
            self.min_part_size = 0  # AIStore sets no minimum part size

    @property
    def max_parts(self) -> int:
        """The most parts one multipart upload may have."""
        return AISTORE_MAX_PARTS if self._aistore else MAX_PARTS

    @property
    def copies_parts(self) -> bool:
        """The server has UploadPartCopy."""
        return not self._aistore

    def missing_parts(self, numbers: Iterable[int]) -> list[int]:
        """The part numbers a completion of ``numbers`` lacks for this server: those
        of 1..max(numbers) not among them on AIStore (which needs all of 1..N), none
        elsewhere."""
        present = set(numbers)
        if not self._aistore or not present:
            return []
        return [n for n in range(1, max(present) + 1) if n not in present]

    def follows_redirect(self, headers: Mapping[str, str]) -> bool:
        """Whether to follow the 307/308 reply with these (lower-case) headers: only
        from AIStore, whose gateway redirects object requests to a storage node. A
        reply with ``Server: AIStore`` shows the endpoint to be AIStore."""
        if headers.get("server", "").strip().lower() == _AISTORE_SERVER:
            self.note_aistore()
        return self._aistore
