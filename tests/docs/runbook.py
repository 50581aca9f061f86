"""Read docs/RUNBOOK.md the way an operator does: fenced blocks, commands, markers, expectations.

A ``bash`` block holds commands. A command is one line, or several joined by a trailing backslash
or by a quoted string left open (the multi-line ``psql -c "..."`` form). Comments:

- ``# deployment:``, ``# interactive:``, ``# internet:`` mark the commands after them, up to the
  next blank line, as not runnable on a developer machine (the reason follows the colon);
- ``# Expected: TEXT`` right under a command: its output contains TEXT (whitespace-insensitive);
- ``# Expected exit: N`` right under a command: its exit code is N instead of 0.

``dotenv`` blocks hold ``NAME=value`` lines for /etc/sniper-bot/env.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "RUNBOOK.md"

MARKERS = frozenset({"deployment", "interactive", "internet"})
PLACEHOLDERS = frozenset(
    {"<wallet_public_key>", "<token_mint_address>", "<honeypot_mint_address>", "<user_id>"}
)

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^#\s*([a-z-]+):")
_EXPECTED = re.compile(r"^#\s*Expected:\s*(.+?)\s*$")
_EXPECTED_EXIT = re.compile(r"^#\s*Expected exit:\s*(\d+)\s*$")
_PLACEHOLDER = re.compile(r"<[a-z_]+>")


@dataclass(frozen=True, slots=True)
class Block:
    lang: str
    start_line: int  # 1-based line of the first content line
    lines: tuple[str, ...]


@dataclass(slots=True)
class Command:
    text: str
    line: int  # 1-based line in the document where the command starts
    marker: str | None = None
    expected: list[str] = field(default_factory=list)
    expected_exit: int = 0

    @property
    def runnable(self) -> bool:
        return self.marker is None

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.text))


class RunbookFormatError(ValueError):
    """The runbook breaks its own conventions (the message names the line)."""


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    lang: str | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if lang is None:
            if fence:
                lang, start, body = fence.group(1), number + 1, []
        elif line.strip() == "```":
            out.append(Block(lang, start, tuple(body)))
            lang = None
        else:
            body.append(line)
    if lang is not None:
        raise RunbookFormatError(f"line {start - 1}: a ``` block is never closed")
    return out


def _complete(text: str) -> bool:
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=False)
    except ValueError:  # "No closing quotation": a multi-line quoted argument continues
        return False
    return True


def commands_of(block: Block) -> list[Command]:
    out: list[Command] = []
    marker: str | None = None
    pending: list[str] = []
    pending_line = 0
    last_command_end: int | None = None
    for offset, raw in enumerate(block.lines):
        number = block.start_line + offset
        line = raw.rstrip()
        if pending:
            pending.append(line)
            joined = "\n".join(pending)
            if _complete(joined):
                out.append(Command(joined, pending_line, marker))
                pending = []
                last_command_end = number
            continue
        stripped = line.strip()
        if not stripped:
            marker = None
            continue
        if stripped.startswith("#"):
            exit_match = _EXPECTED_EXIT.match(stripped)
            expected_match = _EXPECTED.match(stripped)
            if exit_match or expected_match:
                if not out or last_command_end != number - 1 - _trailing_expectations(out[-1]):
                    raise RunbookFormatError(f"line {number}: '# Expected' not under a command")
                if exit_match:
                    out[-1].expected_exit = int(exit_match.group(1))
                elif expected_match:
                    out[-1].expected.append(expected_match.group(1))
                continue
            found = _MARKER.match(stripped)
            if found and found.group(1) in MARKERS:
                marker = found.group(1)
            continue
        pending, pending_line = [line], number
        if _complete(line):
            out.append(Command(line, number, marker))
            pending = []
            last_command_end = number
    if pending:
        raise RunbookFormatError(f"line {pending_line}: command never ends (open quote or \\)")
    return out


def _trailing_expectations(command: Command) -> int:
    return len(command.expected) + (1 if command.expected_exit else 0)


def parse_commands(text: str) -> list[Command]:
    return [c for b in blocks(text) if b.lang in ("bash", "sh") for c in commands_of(b)]


def dotenv_assignments(text: str) -> list[tuple[int, str, str]]:
    """``(line, NAME, value)`` for every assignment in the ``dotenv`` blocks."""
    out = []
    for block in blocks(text):
        if block.lang != "dotenv":
            continue
        for offset, line in enumerate(block.lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            name, sep, value = stripped.partition("=")
            if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                raise RunbookFormatError(f"line {block.start_line + offset}: not NAME=value")
            out.append((block.start_line + offset, name, value.strip().strip('"')))
    return out


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace each placeholder and site-specific name (``db-host``, ``localhost:3000``...)."""
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def normalised(text: str) -> str:
    return " ".join(text.split())


def load() -> str:
    return RUNBOOK.read_text(encoding="utf-8")


def section_span(text: str, title: str) -> tuple[int, int]:
    """1-based line of the heading ``title`` and of the next heading of the same or higher level
    (``#`` lines inside fenced blocks are comments, not headings)."""
    headings: list[tuple[int, int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"^(#+) (.+)$", line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2).strip()))
    for i, (number, level, name) in enumerate(headings):
        if name == title:
            later = [n for n, lvl, _ in headings[i + 1 :] if lvl <= level]
            return number, later[0] if later else len(text.splitlines()) + 1
    raise RunbookFormatError(f"no section {title!r}")
