"""What a client knows of its endpoint, in one place: what its settings say, and what
the server's replies have shown."""

from __future__ import annotations

__all__ = ["EndpointCapabilities"]


class EndpointCapabilities:
    """The endpoint of one ``S3Client``, as far as uploads are concerned.

    ``min_part_size``: the smallest part (but the last) the server accepts, checked
    before a multipart upload is completed; ``signs_payload``: bodies are SHA-256
    signed, so a file part's hash is computed before it is sent; ``checksums_ignored``:
    the server was seen to ignore ``x-amz-checksum-*`` headers, so uploads carry
    Content-MD5 too, which every S3 server verifies. Only a reply can set the last,
    through ``note_checksums_ignored``, and it stays set for the client's lifetime.
    """

    __slots__ = ("_checksums_ignored", "_signs_payload", "min_part_size")

    def __init__(self, *, min_part_size: int, signs_payload: bool) -> None:
        self.min_part_size = min_part_size
        self._signs_payload = signs_payload
        self._checksums_ignored = False

    def __repr__(self) -> str:
        return (
            f"EndpointCapabilities(min_part_size={self.min_part_size}, "
            f"signs_payload={self._signs_payload}, checksums_ignored={self._checksums_ignored})"
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
