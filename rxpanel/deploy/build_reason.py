"""Which line of a failed build's output says why it failed.

The last line printed is often a consequence (a traceback ends in the exception
raised while cleaning up: `RuntimeError: generator didn't stop after throw()`),
while the cause is higher up. An operator acts on the cause."""

from __future__ import annotations

import re

TRACEBACK = "Traceback (most recent call last):"
# `SomeError: message` or `pkg.mod.SomeError: message` at column 0, as Python
# prints the exception that ends a traceback block.
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b(:.*)?$")
# Lines a tool marks as its error: npm's `npm error`/`npm ERR!`, vite's and
# react-router's `error ...`/`[vite] error`, reflex's `Error: ...`.
TOOL_ERROR = re.compile(r"^\s*(npm (error|ERR!)|error\b|Error:|\[vite\].*error|✘ \[ERROR\])", re.I)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NOISE = re.compile(r"^npm (error|ERR!)\s*(code|errno|path|syscall|command|cwd|A complete log)\b")


def failure_reason(lines: list[str], *, tail: int = 3) -> str:
    """The error that caused a failure: the exception ending the first traceback,
    else the first line a tool marks as an error, else the last lines."""
    clean = [ANSI.sub("", line).rstrip() for line in lines]
    first_exception = _first_traceback_exception(clean)
    if first_exception:
        return first_exception
    for line in clean:
        if TOOL_ERROR.match(line) and not NOISE.match(line) and _has_message(line):
            return line.strip()
    return " | ".join(x for x in clean[-tail:] if x.strip())


def _first_traceback_exception(lines: list[str]) -> str:
    # Also rich's boxed traceback (`╭── Traceback (most recent call last) ──╮`).
    start = next((i for i, ln in enumerate(lines) if TRACEBACK.rstrip(":") in ln), -1)
    if start < 0:
        return ""
    for line in lines[start + 1 :]:
        # Frames are indented; the exception line that closes the block is not.
        if line and not line[0].isspace() and EXCEPTION.match(line):
            return line
    return ""


def _has_message(line: str) -> bool:
    """`npm error` alone (a blank continuation line) says nothing."""
    words = re.sub(r"^\s*(npm (error|ERR!)|error|Error:)", "", line, flags=re.I).strip()
    return bool(words)
