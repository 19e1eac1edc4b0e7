"""The index's rows as values: objects, multipart uploads and parts."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

__all__ = [
    "ObjectRecord",
    "PartRecord",
    "Segment",
    "UploadRecord",
    "blob_names",
    "object_row",
    "part_row",
    "upload_row",
]

Segment = tuple[str, int]  # (blob name, size)


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    bucket: str
    key: str
    blobs: tuple[Segment, ...]
    size: int
    etag: str
    modified: float
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # Content-Encoding, ...
    checksums: dict[str, str] = field(default_factory=dict)
    parts: int = 0  # 0 for a single PUT


@dataclass(frozen=True, slots=True)
class UploadRecord:
    upload_id: str
    bucket: str
    key: str
    initiated: float
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    algorithm: str | None = None


@dataclass(frozen=True, slots=True)
class PartRecord:
    upload_id: str
    number: int
    blob: str
    size: int
    etag: str
    modified: float
    checksums: dict[str, str] = field(default_factory=dict)


def object_row(row: sqlite3.Row) -> ObjectRecord:
    return ObjectRecord(
        row["bucket"],
        row["key"],
        tuple((name, size) for name, size in json.loads(row["blobs"])),
        row["size"],
        row["etag"],
        row["modified"],
        row["content_type"],
        json.loads(row["metadata"]),
        json.loads(row["headers"]),
        json.loads(row["checksums"]),
        row["parts"],
    )


def blob_names(blobs_json: str) -> list[str]:
    return [name for name, _ in json.loads(blobs_json)]


def upload_row(row: sqlite3.Row) -> UploadRecord:
    return UploadRecord(
        row["upload_id"],
        row["bucket"],
        row["key"],
        row["initiated"],
        row["content_type"],
        json.loads(row["metadata"]),
        json.loads(row["headers"]),
        row["algorithm"],
    )


def part_row(row: sqlite3.Row) -> PartRecord:
    return PartRecord(
        row["upload_id"],
        row["number"],
        row["blob"],
        row["size"],
        row["etag"],
        row["modified"],
        json.loads(row["checksums"]),
    )
