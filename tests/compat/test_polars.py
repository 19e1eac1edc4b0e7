"""polars (Rust object_store) against the embedded server: what the matrix adds to the
Parquet write/read of tests/integration/test_dataframe_clients.py is a listing (a
globbed, hive-partitioned scan) and a CSV round trip."""

from __future__ import annotations

from typing import Any

import polars as pl
from servers import ServerInfo
from thirdparty import polars_options


def test_glob_scan_of_hive_partitions(local: ServerInfo, s3: Any, bucket: str) -> None:
    options = polars_options(local)
    frames = {
        day: pl.DataFrame({"n": list(range(day * 10, day * 10 + 10)), "label": [f"d{day}"] * 10})
        for day in (1, 2, 3)
    }
    for day, part in frames.items():
        part.write_parquet(
            f"s3://{bucket}/events/day={day}/part 0.parquet", storage_options=options
        )
    s3.put_object(Bucket=bucket, Key="events/README.txt", Body=b"not parquet")

    scanned = pl.scan_parquet(
        f"s3://{bucket}/events/**/*.parquet", storage_options=options, hive_partitioning=True
    )
    got = scanned.filter(pl.col("day") >= 2).collect().sort("n")
    assert got["n"].to_list() == list(range(20, 40))
    assert got["day"].unique().sort().to_list() == [2, 3]


def test_csv_round_trip(local: ServerInfo, bucket: str) -> None:
    options = polars_options(local)
    table = pl.DataFrame({"key": ["a b", "ü+", "#%"], "value": [1.5, 2.5, 3.5]})
    table.write_csv(f"s3://{bucket}/tables/odd names.csv", storage_options=options)
    assert pl.read_csv(f"s3://{bucket}/tables/odd names.csv", storage_options=options).equals(table)
