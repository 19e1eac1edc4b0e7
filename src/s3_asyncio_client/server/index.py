"""The metadata index: buckets, objects, multipart uploads and parts, in SQLite.

Rules:

1. One connection, used only from the server's event-loop thread; each change is one
   transaction, so no other request ever sees half of it. Handlers do check-then-write
   with no ``await`` in between, so preconditions and upserts are atomic too.
2. WAL journal, ``synchronous=NORMAL``: a commit survives the process being killed
   (the OS holds the pages). Durable mode adds ``sync``, an fsync of the WAL run in
   the executor before a write is answered or what it replaced is unlinked (see
   storage.py): the loop never waits for the disk, and an answered write survives a
   power cut (a request running meanwhile may read a commit not yet on disk).
3. Keys are TEXT compared with SQLite's BINARY collation, which orders UTF-8 by bytes,
   as S3 lists them.
4. A row never names a blob that is not whole: blobs are published before the row that
   names them is committed, and unlinked only after the row stops naming them.
5. An object is a list of segments (blob, size): one for a PUT, the parts of a
   multipart upload once completed (completion moves part blobs, it copies nothing).
6. Exclusive locking (one server per root holds its lock anyway) keeps the WAL index
   in memory, not in a ``-shm`` file: a full disk still opens and reads the index; a
   write it has no room for is the S3 error ``storage_full``, until space is freed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from .blobs import sync_folder
from .errors import S3Fault, storage_full
from .records import (
    ObjectRecord,
    PartRecord,
    Segment,
    UploadRecord,
    blob_names,
    object_row,
    part_row,
    upload_row,
)

__all__ = ["Index", "ObjectRecord", "PartRecord", "Segment", "UploadRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, blobs TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, modified REAL NOT NULL, content_type TEXT NOT NULL,
    metadata TEXT NOT NULL, headers TEXT NOT NULL, checksums TEXT NOT NULL,
    parts INTEGER NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
    initiated REAL NOT NULL, content_type TEXT NOT NULL, metadata TEXT NOT NULL,
    headers TEXT NOT NULL, algorithm TEXT);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL, number INTEGER NOT NULL, blob TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, modified REAL NOT NULL,
    checksums TEXT NOT NULL, PRIMARY KEY (upload_id, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bucket_settings (
    bucket TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (bucket, name)) WITHOUT ROWID;
"""


class Index:
    """The SQLite file ``index.sqlite3`` under the server root; ``durable``: rule 2."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._wal: int | None = None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")  # rule 6
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            # Every request asks whether its bucket exists: answer from memory (rule 1
            # keeps this set and the table in step: both change in the same call).
            rows = self._db.execute("SELECT name FROM buckets")
            self._buckets = {row["name"] for row in rows}
            if durable:  # the read above opened (or created) the WAL
                self._wal = os.open(f"{path}-wal", os.O_RDONLY)
                sync_folder(path.parent)  # the names of the index and its WAL
        except BaseException:
            self.close()
            raise

    @property
    def changes(self) -> int:
        """Rows changed since the index was opened: ``sync`` is due when this moves."""
        return self._db.total_changes

    def sync(self) -> None:
        """Durable mode: put every commit so far on disk (blocking: run it off the loop)."""
        if self._wal is not None:
            os.fsync(self._wal)

    def close(self) -> None:
        if self._wal is not None:
            os.close(self._wal)
            self._wal = None
        self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed if the block ends, else rolled back; a disk too
        full for it is the S3 error (rule 6)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                raise storage_full() from exc
            raise

    # Buckets

    def create_bucket(self, name: str, now: float) -> bool:
        """True if created, False if it existed."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO buckets (name, created) VALUES (?, ?)", (name, now)
            )
        self._buckets.add(name)
        return cursor.rowcount == 1

    def bucket_exists(self, name: str) -> bool:
        return name in self._buckets

    def require_bucket(self, name: str) -> None:
        if name not in self._buckets:
            raise S3Fault("NoSuchBucket", "The specified bucket does not exist")

    def list_buckets(self) -> list[tuple[str, float]]:
        rows = self._db.execute("SELECT name, created FROM buckets ORDER BY name").fetchall()
        return [(row["name"], row["created"]) for row in rows]

    def delete_bucket(self, name: str) -> list[str]:
        """Delete an empty bucket and its open uploads; the part blobs to remove."""
        with self._write() as db:
            self.require_bucket(name)
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise S3Fault("BucketNotEmpty", "The bucket you tried to delete is not empty")
            blobs = [
                row["blob"]
                for row in db.execute(
                    "SELECT p.blob FROM parts p JOIN uploads u USING (upload_id) "
                    "WHERE u.bucket = ?",
                    (name,),
                )
            ]
            db.execute(
                "DELETE FROM parts WHERE upload_id IN "
                "(SELECT upload_id FROM uploads WHERE bucket = ?)",
                (name,),
            )
            db.execute("DELETE FROM uploads WHERE bucket = ?", (name,))
            db.execute("DELETE FROM bucket_settings WHERE bucket = ?", (name,))
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))
        self._buckets.discard(name)
        return blobs

    def bucket_setting(self, bucket: str, name: str) -> str | None:
        """A bucket's setting (an ACL, CORS rules, ...) as stored; None when unset."""
        row = self._db.execute(
            "SELECT value FROM bucket_settings WHERE bucket = ? AND name = ?", (bucket, name)
        ).fetchone()
        return row["value"] if row else None

    def set_bucket_setting(self, bucket: str, name: str, value: str | None) -> None:
        """Set a bucket's setting, or remove it (``None``); the bucket must exist."""
        with self._write() as db:
            self.require_bucket(bucket)
            if value is None:
                db.execute(
                    "DELETE FROM bucket_settings WHERE bucket = ? AND name = ?", (bucket, name)
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO bucket_settings VALUES (?, ?, ?)", (bucket, name, value)
                )

    # Objects

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        row = self._db.execute(
            "SELECT * FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return object_row(row) if row else None

    def _upsert(self, db: sqlite3.Connection, record: ObjectRecord) -> list[str]:
        old = db.execute(
            "SELECT blobs FROM objects WHERE bucket = ? AND key = ?", (record.bucket, record.key)
        ).fetchone()
        db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.bucket,
                record.key,
                json.dumps(record.blobs),
                record.size,
                record.etag,
                record.modified,
                record.content_type,
                json.dumps(record.metadata),
                json.dumps(record.headers),
                json.dumps(record.checksums),
                record.parts,
            ),
        )
        return blob_names(old["blobs"]) if old else []

    def put_object(self, record: ObjectRecord) -> list[str]:
        """Store ``record`` (the bucket must exist); the blobs it replaced."""
        with self._write() as db:
            self.require_bucket(record.bucket)
            return self._upsert(db, record)

    def put_objects(self, records: Iterable[ObjectRecord]) -> list[str]:
        """Store many records in one transaction (their buckets must exist); the blobs
        they replaced. For loading many objects at once (tests, benchmarks)."""
        with self._write() as db:
            replaced: list[str] = []
            for record in records:
                self.require_bucket(record.bucket)
                replaced += self._upsert(db, record)
            return replaced

    def set_object_headers(self, bucket: str, key: str, headers: dict[str, str]) -> bool:
        """Replace the stored headers of an existing object; False if it is gone."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE objects SET headers = ? WHERE bucket = ? AND key = ?",
                (json.dumps(headers), bucket, key),
            )
        return cursor.rowcount == 1

    def delete_object(self, bucket: str, key: str) -> list[str]:
        """Delete an object if present; its blobs."""
        with self._write() as db:
            rows = db.execute(
                "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blobs", (bucket, key)
            ).fetchall()
        return blob_names(rows[0]["blobs"]) if rows else []

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> list[str]:
        """Delete the objects present of ``keys`` in one transaction; their blobs."""
        with self._write() as db:
            removed: list[str] = []
            for key in keys:
                rows = db.execute(
                    "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blobs",
                    (bucket, key),
                ).fetchall()
                if rows:
                    removed += blob_names(rows[0]["blobs"])
            return removed

    def scan_objects(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        """Objects from ``start`` on, in key order (rule 3)."""
        op = ">=" if inclusive else ">"
        rows = self._db.execute(
            f"SELECT * FROM objects WHERE bucket = ? AND key {op} ? ORDER BY key LIMIT ?",
            (bucket, start, limit),
        ).fetchall()
        return [object_row(row) for row in rows]

    # Multipart uploads

    def create_upload(self, record: UploadRecord) -> None:
        with self._write() as db:
            self.require_bucket(record.bucket)
            db.execute(
                "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.upload_id,
                    record.bucket,
                    record.key,
                    record.initiated,
                    record.content_type,
                    json.dumps(record.metadata),
                    json.dumps(record.headers),
                    record.algorithm,
                ),
            )

    def get_upload(self, upload_id: str, bucket: str, key: str) -> UploadRecord:
        row = self._db.execute(
            "SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key),
        ).fetchone()
        if row is None:
            raise S3Fault(
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the "
                "upload may have been aborted or completed.",
                extra={"UploadId": upload_id},
            )
        return upload_row(row)

    def uploads(self, bucket: str, prefix: str) -> list[UploadRecord]:
        rows = self._db.execute(
            "SELECT * FROM uploads WHERE bucket = ? AND key >= ? ORDER BY key, initiated",
            (bucket, prefix),
        ).fetchall()
        return [upload_row(row) for row in rows if row["key"].startswith(prefix)]

    def put_part(self, record: PartRecord, bucket: str, key: str) -> str | None:
        """Store a part of an open upload; the blob of the part it replaced."""
        with self._write() as db:
            self.get_upload(record.upload_id, bucket, key)
            old = db.execute(
                "SELECT blob FROM parts WHERE upload_id = ? AND number = ?",
                (record.upload_id, record.number),
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.upload_id,
                    record.number,
                    record.blob,
                    record.size,
                    record.etag,
                    record.modified,
                    json.dumps(record.checksums),
                ),
            )
        return old["blob"] if old else None

    def parts(self, upload_id: str, after: int = 0, limit: int = -1) -> list[PartRecord]:
        rows = self._db.execute(
            "SELECT * FROM parts WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?",
            (upload_id, after, limit),
        ).fetchall()
        return [part_row(row) for row in rows]

    def _drop_upload(self, db: sqlite3.Connection, upload_id: str) -> list[str]:
        blobs = [
            row["blob"]
            for row in db.execute("SELECT blob FROM parts WHERE upload_id = ?", (upload_id,))
        ]
        db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
        db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return blobs

    def abort_upload(self, upload_id: str, bucket: str, key: str) -> list[str]:
        """Forget an upload; the part blobs to remove."""
        with self._write() as db:
            self.get_upload(upload_id, bucket, key)
            return self._drop_upload(db, upload_id)

    def complete_upload(self, upload: UploadRecord, record: ObjectRecord) -> list[str]:
        """Publish the object made of (some of) the upload's part blobs and forget the
        upload, in one transaction; the blobs to remove (parts left out, and the
        object this one replaced)."""
        with self._write() as db:
            self.get_upload(upload.upload_id, upload.bucket, upload.key)
            self.require_bucket(record.bucket)
            parts = self._drop_upload(db, upload.upload_id)
            old = self._upsert(db, record)
        kept = {name for name, _ in record.blobs}
        return [name for name in parts if name not in kept] + old

    def referenced_blobs(self) -> set[str]:
        names = {row["blob"] for row in self._db.execute("SELECT blob FROM parts")}
        for row in self._db.execute("SELECT blobs FROM objects"):
            names.update(blob_names(row["blobs"]))
        return names
