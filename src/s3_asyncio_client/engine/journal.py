"""The resume journal of one upload: a JSON header, then one JSON line per part.

``JournalFile`` is what every journal shares (rules 1, 2, 4); the download
journal (``rangelog``) is one too.

Rules:
1. The header (endpoint, bucket, key, upload id, part size, checksum algorithm,
   and the source's size and mtime) is written to a temporary file, synced and
   renamed into place, so it is whole or absent, even after a power cut.
2. Each finished part is one appended line: its number, ETag, size, and checksum
   (the upload's algorithm, else ``md5``: base64 digests). A process killed
   mid-write leaves at most a torn last line, which is ignored: that part is simply
   sent again. Lines of a part recorded twice: the last one counts.
3. The journal is a hint. On resume the server's ListParts is the truth, and a part
   is skipped only if the file still holds its bytes (see ``resume``).
4. A journal names an endpoint, a bucket, a key, a local path and an upload id: it
   is created 0600 (no moment at which others may read it), in a folder created
   0700; the default folder, ours, is narrowed to 0700 if it is wider (a user's
   own ``journal_dir`` is left as it is). Journals are opened without following
   symlinks, so a link planted in a shared folder cannot redirect a write.
No pickle: nothing in the file is executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..protocol.checksums import ChecksumAlgorithm

__all__ = ["Journal", "JournalFile", "JournalHeader", "default_journal_dir", "journal_name"]

_FILE_MODE = 0o600
_DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def default_journal_dir(kind: str = "uploads") -> Path:
    """Where journals of ``kind`` ("uploads", "downloads") live by default."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "s3-asyncio-client" / kind


def journal_name(*identity: str) -> str:
    """A file name for the journal of ``identity`` (rule 4: the names it holds are
    not shown in the folder's listing)."""
    return hashlib.sha256("\0".join(identity).encode()).hexdigest()[:32]


class JournalFile:
    """A journal on disk: a JSON header written whole (rule 1), then JSON records
    appended one a line (rule 2), private (rule 4). What the records mean is the
    caller's."""

    def __init__(self, path: Path, *, own_directory: bool = False) -> None:
        self.path = path
        self._own_directory = own_directory

    def read(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The header and every record that is a whole JSON object, in order; None
        if there is no journal or its header is not whole."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW)
        except OSError:
            return None
        try:
            _narrow(fd)  # written 0644 by an earlier version
            with os.fdopen(fd, encoding="utf-8", closefd=False) as file:
                lines = file.read().splitlines()
            header = json.loads(lines[0])
        except (OSError, IndexError, ValueError):
            return None
        finally:
            os.close(fd)
        if not isinstance(header, dict):
            return None
        records = []
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line (rule 2)
            if isinstance(record, dict):
                records.append(record)
        return header, records

    def start(self, header: dict[str, Any]) -> None:
        """A new journal holding ``header`` only, in place of any other."""
        self._make_directory()
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                _narrow(fd)  # exactly 0600, whatever the umask took away
                file.write(json.dumps(header) + "\n")
                file.flush()
                os.fsync(fd)  # a power cut must not leave an empty journal: what
                # it names would be orphaned instead of resumed
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def record(self, *records: dict[str, Any]) -> None:
        """Append ``records``, a line each, in one write."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, _FILE_MODE)
        with os.fdopen(fd, "a", encoding="utf-8") as file:
            file.write("".join(json.dumps(record) + "\n" for record in records))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def _make_directory(self) -> None:
        directory = self.path.parent
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(directory, _DIR_MODE)
        except FileExistsError:
            if not self._own_directory:
                return
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
        try:
            _narrow(fd, _DIR_MODE)  # also undoes a umask that took the owner's bits
        finally:
            os.close(fd)


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
    """The journal of one (endpoint, bucket, key, source path) upload, in
    ``directory`` (``own_directory``: the default one, which may be narrowed)."""

    def __init__(
        self,
        directory: Path,
        endpoint: str,
        bucket: str,
        key: str,
        source: str,
        *,
        own_directory: bool = False,
    ) -> None:
        name = journal_name(endpoint, bucket, key, source)
        self.file = JournalFile(directory / f"{name}.json", own_directory=own_directory)
        self.path = self.file.path

    def load(self) -> tuple[JournalHeader, dict[int, dict[str, Any]]] | None:
        """The header and the parts recorded, or None if there is no usable journal."""
        loaded = self.file.read()
        if loaded is None:
            return None
        try:
            header = JournalHeader(**loaded[0])
        except TypeError:
            return None
        parts: dict[int, dict[str, Any]] = {}
        for part in loaded[1]:
            try:
                parts[int(part["part_number"])] = part
            except (ValueError, TypeError, KeyError):
                continue  # a torn or foreign line (rule 2)
        return header, parts

    def start(self, header: JournalHeader) -> None:
        self.file.start(asdict(header))

    def record(self, part: dict[str, Any]) -> None:
        self.file.record(part)

    def remove(self) -> None:
        self.file.remove()


def _narrow(fd: int, mode: int = _FILE_MODE) -> None:
    """Give ``fd``'s file ``mode`` if it is ours and its mode differs."""
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != mode:
        os.fchmod(fd, mode)
