"""What the CLI prints. Keys and messages come from servers, and a key may hold any
character, ESC included: on a terminal, control characters are shown as ``\\xNN``
escapes so that a key cannot clear the screen, move the cursor or retitle the window
(as GNU ls does); piped output stays exact for the program reading it (click
alone would strip whatever looks like an ANSI sequence out of a key)."""

from __future__ import annotations

import re
import sys

import click

__all__ = ["echo", "shown"]

# C0 and C1 controls and DEL, but newline and tab, which lay the output out.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def echo(message: str, *, err: bool = False) -> None:
    """``click.echo``, escaping control characters when the stream is a terminal."""
    stream = sys.stderr if err else sys.stdout
    if stream.isatty():
        click.echo(shown(message), err=err)
    else:  # color=True: click would otherwise strip what looks like ANSI codes
        click.echo(message, err=err, color=True)
