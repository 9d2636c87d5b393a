"""The ``## History`` section a run appends with ``write`` permission, and reading it back.

Each entry is a level-3 heading and a Markdown table, readable by people and parsed here for
``--frozen``. The section is not covered by the signature (docs/maml.md), so appending to a
signed document keeps it verifiable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from dunes.maml.parser import parse_document, split_lines

_ENTRY = re.compile(r"^### (\S+) run (\S+) (\w+) (signed|signed-unchecked|unsigned)\s*$")
_ROW = re.compile(r"^\| (\S+) \| (\S+) \| ([0-9a-f]{64}) \| ([0-9a-f]{64}|-) \| (.*) \|\s*$")


@dataclass(frozen=True)
class HistoryRow:
    block: str
    language: str
    block_sha256: str
    output_sha256: str | None
    status: str


#: How a run saw the document's signature: verified by a trusted key, present but not checked
#: (no key was given), or absent.
Signature = Literal["signed", "signed-unchecked", "unsigned"]


@dataclass(frozen=True)
class HistoryEntry:
    when: str
    run_id: str
    status: str
    signature: Signature
    rows: tuple[HistoryRow, ...]

    @property
    def signed(self) -> bool:
        """The signature was verified by a trusted key."""
        return self.signature == "signed"


def render_entry(entry: HistoryEntry) -> str:
    lines = [
        f"### {entry.when} run {entry.run_id} {entry.status} {entry.signature}",
        "",
        "| block | language | block sha256 | output sha256 | status |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.block} | {r.language} | {r.block_sha256} | {r.output_sha256 or '-'} | {r.status} |"
        for r in entry.rows
    ]
    return "\n".join(lines) + "\n"


def append_history(text: str, entry: HistoryEntry) -> str:
    """``text`` with ``entry`` appended to its History section (created at the end if absent)."""
    doc = parse_document(text)
    if not text.endswith(("\n", "\r")):
        text += "\n"
    if doc.history_line is None:
        # No blank line before the heading: the signed bytes end exactly where the heading starts.
        text += "## History\n"
    return text + "\n" + render_entry(entry)


def read_history(text: str) -> list[HistoryEntry]:
    """Every entry of the History section, oldest first."""
    doc = parse_document(text)
    if doc.history_line is None:
        return []
    entries: list[HistoryEntry] = []
    current: tuple[str, str, str, Signature] | None = None
    rows: list[HistoryRow] = []
    for raw in split_lines(text)[doc.history_line :]:
        line = raw.rstrip("\r\n")
        head = _ENTRY.match(line)
        if head:
            if current:
                entries.append(HistoryEntry(*current, rows=tuple(rows)))
            current, rows = (
                (head.group(1), head.group(2), head.group(3), cast(Signature, head.group(4))),
                [],
            )
            continue
        row = _ROW.match(line)
        if row and current:
            out = row.group(4)
            rows.append(
                HistoryRow(
                    row.group(1),
                    row.group(2),
                    row.group(3),
                    None if out == "-" else out,
                    row.group(5),
                )
            )
    if current:
        entries.append(HistoryEntry(*current, rows=tuple(rows)))
    return entries


def recorded_outputs(text: str) -> dict[str, str | None]:
    """Block name -> output sha256 of the latest entry that ran it."""
    outputs: dict[str, str | None] = {}
    for entry in read_history(text):
        for row in entry.rows:
            outputs[row.block] = row.output_sha256
    return outputs
