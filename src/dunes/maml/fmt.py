"""``dunes maml fmt``: rewrite the seed's fence mistakes into documents CommonMark reads as meant.

Fences are paired the way the author meant (an opener with an info string always opens, a bare
fence closes the innermost open one), then every fence that holds a fence of its own character
is made one longer than the longest it holds. A document wrapped whole in a fence is unwrapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dunes.maml.parser import FENCE_LINE, split_front_matter, split_lines, wrapped_in_fence


@dataclass
class _Open:
    line: int
    indent: str
    char: str
    size: int
    info: str
    child: int = 0
    children: list[int] = field(default_factory=list)


def _lengthen(lines: list[str], start: int) -> list[str]:
    changes: list[str] = []
    stack: list[_Open] = []
    for i in range(start, len(lines)):
        match = FENCE_LINE.match(lines[i].rstrip("\r\n"))
        if match is None:
            continue
        indent, marker, info = match.group(1), match.group(2), match.group(3)
        char, size = marker[0], len(marker)
        if not info.strip() and stack:
            top = stack[-1]
            if char != top.char or size < top.size:
                continue
            stack.pop()
            need = max(top.size, top.child + 1) if top.child else top.size
            if need != top.size:
                ending = lines[top.line][len(lines[top.line].rstrip("\r\n")) :]
                lines[top.line] = f"{top.indent}{char * need}{top.info}{ending}"
                lines[i] = (
                    f"{indent}{char * need}{lines[i][len(lines[i].rstrip(chr(13) + chr(10))) :]}"
                )
                changes.append(
                    f"lines {top.line + 1} and {i + 1}: outer fence lengthened to {char * need}"
                )
            if stack and stack[-1].char == char:
                stack[-1].child = max(stack[-1].child, need)
            continue
        stack.append(_Open(line=i, indent=indent, char=char, size=size, info=info))
    return changes


def format_document(text: str) -> tuple[str, list[str]]:
    """(formatted text, what changed). A well-formed document comes back unchanged."""
    lines = split_lines(text)
    changes: list[str] = []
    _, end, _ = split_front_matter(text)
    if end is None:
        wrap = wrapped_in_fence(lines)
        if wrap is not None:
            first, last = wrap
            # The wrapper's real closer is the last line; the fences inside pair up among themselves.
            lines = lines[first + 1 : last]
            changes.append(f"unwrapped the document from the fence of lines {first + 1}-{last + 1}")
            _, end, _ = split_front_matter("".join(lines))
    changes += _lengthen(lines, (end + 1) if end is not None else 0)
    out = "".join(lines)
    if out and not out.endswith("\n"):
        out += "\n"
        changes.append("added the final newline")
    return out, changes
