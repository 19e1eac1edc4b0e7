"""Progress for the CLI: rich bars on a terminal, one summary line per file otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from .output import echo, mode

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["Reporter", "human_size", "parse_size"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_size(text: str) -> int:
    """``"8MiB"``, ``"1GiB"``, ``"500MB"``, ``"1024"`` -> bytes."""
    number = text.rstrip("bBiIkKmMgGtT ")
    unit = text[len(number) :].strip().lower()
    try:
        return int(float(number) * _UNITS[unit])
    except (KeyError, ValueError):
        raise click.BadParameter(f"{text!r} is not a size like 8MiB or 1GiB") from None


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def _bars() -> Progress:
    """rich's bars, imported here: only a terminal that shows them pays for rich."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


class Reporter:
    """Bars (bytes, rate, ETA) for each file and the total, or plain summaries: a
    line per file (``output.echo``: none under ``--quiet``, JSON under ``--json``)
    and, for several files, a closing line with the totals, time and throughput."""

    def __init__(self, enabled: bool) -> None:
        self.live = enabled and not mode.quiet and sys.stderr.isatty()
        self._progress = _bars() if self.live else None
        self._total: TaskID | None = None
        self._planned = 0  # files in the run, for the total bar's "k/N files"
        self.files = self.bytes = self.failed = 0

    @contextmanager
    def session(
        self, files: int = 1, total: int | None = None, *, summary: bool = False
    ) -> Iterator[Reporter]:
        """Bars for a run of ``files``; with ``summary``, a closing line when several."""
        start = time.perf_counter()
        try:
            if self._progress is None:
                yield self
            else:
                with self._progress:
                    if files > 1:
                        self._planned = files
                        self._total = self._progress.add_task(self._counted(), total=total)
                    yield self
        finally:
            if summary and files > 1:
                self._summary(time.perf_counter() - start)

    def _counted(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"total: {self.files}/{self._planned} files{failed}"

    def _finished(self, task: TaskID | None) -> None:
        """A file's bar, once it is done: in a run of several, it gives its place to
        the next ones (a tree of thousands would fill the screen) and counts in the
        total's "k/N files"."""
        bars = self._progress
        if bars is None or self._total is None:
            return
        if task is not None:
            bars.remove_task(task)
        bars.update(self._total, description=self._counted())

    def _summary(self, seconds: float) -> None:
        rate = self.bytes / max(seconds, 1e-9)
        failed = f"; {self.failed} failed" if self.failed else ""
        echo(
            f"{self.files} files, {human_size(self.bytes)} in {seconds:.1f} s "
            f"({human_size(rate)}/s){failed}",
            record={
                "summary": True,
                "files": self.files,
                "bytes": self.bytes,
                "seconds": round(seconds, 3),
                "bytes_per_second": round(rate),
                "failed": self.failed,
            },
        )

    @contextmanager
    def file(
        self, label: str, size: int | None, record: Mapping[str, object] | None = None
    ) -> Iterator[Callable[[int, int | None], None]]:
        """A progress callback for one transfer; prints its summary when done
        (``record``: the fields of its ``--json`` line, beside bytes and seconds)."""
        start, state = time.perf_counter(), {"done": 0}
        bars = self._progress
        task = bars.add_task(label, total=size) if bars is not None else None

        def update(done: int, total: int | None) -> None:
            delta, state["done"] = done - state["done"], done
            if bars is not None and task is not None:
                bars.update(task, completed=done, total=total)
                if self._total is not None:
                    bars.advance(self._total, delta)

        try:
            yield update
        except Exception:
            self.failed += 1
            self._finished(task)
            raise
        elapsed = max(time.perf_counter() - start, 1e-9)
        done = state["done"]
        self.files += 1
        self.bytes += done
        self._finished(task)
        fields = {**(record or {"file": label}), "bytes": done, "seconds": round(elapsed, 3)}
        if mode.json or not self.live:
            echo(
                f"{label}: {human_size(done)} in {elapsed:.1f} s ({human_size(done / elapsed)}/s)",
                record={**fields, "status": "ok"},
            )
