"""What the CLI prints, and how: for people, ``--quiet`` or ``--json`` lines.

Every line goes through here. ``echo`` prints a progress line (a file copied, an
object deleted): ``--quiet`` drops it, ``--json`` prints its record instead, one JSON
object a line. ``result`` prints what a command was asked for (a listing, a URL, an
object's description): kept under ``--quiet``, its record under ``--json``. Errors
(``err=True``) are always printed, as text, on standard error.

Keys and messages come from servers, and a key may hold any character, ESC
included: on a terminal, control characters are shown as ``\\xNN`` escapes so that
a key cannot clear the screen, move the cursor or retitle the window (as GNU ls
does); piped output stays exact for the program reading it (click alone would strip
whatever looks like an ANSI sequence out of a key)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import click

__all__ = ["Incomplete", "Mode", "echo", "mode", "result", "shown"]

# C0 and C1 controls and DEL, but newline and tab, which lay the output out.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(slots=True)
class Mode:
    """The global ``--quiet`` and ``--json`` switches, set once per run."""

    quiet: bool = False
    json: bool = False


mode = Mode()


class Incomplete(Exception):
    """Some items of a command failed, the others were done: exit 1 after a summary
    of the failures (``(what, why)`` each) on standard error."""

    def __init__(self, failures: list[tuple[str, str]], done: int) -> None:
        super().__init__(f"{len(failures)} failed, {done} done")
        self.failures, self.done = failures, done


def shown(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _print(message: str, err: bool) -> None:
    stream = sys.stderr if err else sys.stdout
    if stream.isatty():
        click.echo(shown(message), err=err)
    else:  # color=True: click would otherwise strip what looks like ANSI codes
        click.echo(message, err=err, color=True)


def _record(message: str, record: Mapping[str, object] | None) -> None:
    _print(json.dumps(dict(record) if record is not None else {"message": message}), False)


def echo(message: str, *, err: bool = False, record: Mapping[str, object] | None = None) -> None:
    """A progress line: ``message``; nothing under ``--quiet``; ``record`` (else
    ``{"message": message}``) as JSON under ``--json``. Errors (``err``) always."""
    if err:
        _print(message, True)
    elif mode.json:
        _record(message, record)
    elif not mode.quiet:
        _print(message, False)


def result(message: str, record: Mapping[str, object] | None = None) -> None:
    """What the command was asked for: printed even under ``--quiet``."""
    if mode.json:
        _record(message, record)
    else:
        _print(message, False)
