"""The resume journal of one upload: a JSON header, then one JSON line per part.

Rules:
1. The header (endpoint, bucket, key, upload id, part size, checksum algorithm,
   and the source's size and mtime) is written to a temporary file and renamed into
   place, so it is whole or absent.
2. Each finished part is one appended line. A process killed mid-write leaves at
   most a torn last line, which is ignored: that part is simply sent again.
3. The journal is a hint. On resume the server's ListParts is the truth: a part is
   skipped only if the server holds it with the ETag and size the journal recorded.
No pickle: nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .protocol.checksums import ChecksumAlgorithm

__all__ = ["Journal", "JournalHeader", "default_journal_dir"]


def default_journal_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "s3-asyncio-client" / "uploads"


@dataclass(frozen=True, slots=True)
class JournalHeader:
    endpoint: str
    bucket: str
    key: str
    source: str
    size: int
    mtime_ns: int
    part_size: int
    checksum: ChecksumAlgorithm | None
    upload_id: str = ""


class Journal:
    """The journal file of one (endpoint, bucket, key, source path) upload."""

    def __init__(self, directory: Path, endpoint: str, bucket: str, key: str, source: str) -> None:
        name = hashlib.sha256("\0".join((endpoint, bucket, key, source)).encode()).hexdigest()
        self.path = directory / f"{name[:32]}.json"

    def load(self) -> tuple[JournalHeader, dict[int, dict[str, Any]]] | None:
        """The header and the parts recorded, or None if there is no usable journal."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            header = JournalHeader(**json.loads(lines[0]))
        except (OSError, IndexError, ValueError, TypeError):
            return None
        parts: dict[int, dict[str, Any]] = {}
        for line in lines[1:]:
            try:
                part = json.loads(line)
                parts[int(part["part_number"])] = part
            except (ValueError, TypeError, KeyError):
                continue  # a torn last line (rule 2)
        return header, parts

    def start(self, header: JournalHeader) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(header)) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def record(self, part: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(part) + "\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
