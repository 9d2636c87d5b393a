"""Parse a ``.maml.md`` text into a :class:`MamlDocument`, collecting every finding with its line.

CommonMark (markdown-it-py) decides what is a fence; on top of that we look for the mistakes the
seed makes: a whole document wrapped in a fence, and a fence opened inside a fence of the same
length, which CommonMark closes early.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from pydantic import ValidationError

from dunes.errors import MamlError, MamlSyntaxError, MamlValidationError
from dunes.maml.model import CodeBlock, DocumentReport, Finding, MamlDocument, Section
from dunes.maml.schema import FrontMatter

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where CommonMark splits (LF, CRLF, CR) and nowhere else."""
    return _LINE.findall(text)


FENCE_LINE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
LANGUAGE_ALIASES = {
    "py": "python",
    "python3": "python",
    "shell": "sh",
    "zsh": "bash",
    "yml": "yaml",
    "openqasm": "qasm",
    "qasm2": "qasm",
    "qasm3": "qasm",
}
_ATTR = re.compile(r"""\s*([A-Za-z_][\w.-]*)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s,}"']+))?\s*,?""")
_MD = MarkdownIt("commonmark")


def _finding(code: str, line: int | None, message: str, severity: str = "error") -> Finding:
    return Finding(severity=severity, code=code, line=line, message=message)


def split_front_matter(text: str) -> tuple[list[str], int | None, list[Finding]]:
    """(lines, index of the closing ``---`` line or None, findings about the delimiters)."""
    lines = split_lines(text)
    if not lines or lines[0].rstrip("\r\n").lstrip("\ufeff") != "---":
        first = lines[0].rstrip("\r\n")[:40] if lines else ""
        found = f"found {first!r}" if lines else "the document is empty"
        return (
            lines,
            None,
            [
                _finding(
                    "front-matter-missing",
                    1,
                    f"a MAML document starts with '---' on line 1 (YAML front matter); {found}",
                )
            ],
        )
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in {"---", "..."}:
            return lines, i, []
    return (
        lines,
        None,
        [
            _finding(
                "front-matter-unclosed",
                1,
                "the front matter opened on line 1 is never closed; end it with a '---' line",
            )
        ],
    )


def _key_lines(
    node: yaml.Node, offset: int, path: tuple[Any, ...] = ()
) -> dict[tuple[Any, ...], int]:
    """Map each key path of a composed YAML mapping to its line in the file."""
    lines: dict[tuple[Any, ...], int] = {path: node.start_mark.line + offset}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, getattr(key, "value", None))
            lines[sub] = key.start_mark.line + offset
            lines.update({k: v for k, v in _key_lines(value, offset, sub).items() if k != sub})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_key_lines(item, offset, (*path, i)))
    return lines


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int], default: int) -> int:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return default


def _parse_front_matter(
    lines: list[str], end: int
) -> tuple[dict[str, Any], FrontMatter | None, list[Finding]]:
    source = "".join(lines[1:end])
    findings: list[Finding] = []
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        return (
            {},
            None,
            [_finding("front-matter-yaml", line, f"front matter is not valid YAML: {problem}")],
        )
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        return (
            {},
            None,
            [_finding("front-matter-yaml", 2, f"front matter is not valid YAML: {exc}")],
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return (
            {},
            None,
            [
                _finding(
                    "front-matter-type",
                    2,
                    f"front matter must be a mapping of fields, found a {type(data).__name__}",
                )
            ],
        )
    key_lines = _key_lines(node, 2) if node is not None else {}
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        return (
            {},
            None,
            [
                _finding(
                    "front-matter-key",
                    _line_for((bad_keys[0],), key_lines, 2),
                    f"front matter keys must be text, found {bad_keys[0]!r}",
                )
            ],
        )
    try:
        front = FrontMatter.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "front matter"
            findings.append(
                _finding(
                    "schema",
                    _line_for(loc, key_lines, 2),
                    f"{where}: {err['msg']} (got {err.get('input')!r})"[:400],
                )
            )
        return data, None, findings
    for key in front.extras:
        findings.append(
            _finding(
                "unknown-field",
                _line_for((key,), key_lines, 2),
                f"unknown front matter field {key!r} kept but not used by MAML v1",
                "warning",
            )
        )
    if front.encryption == "2048-AES" and front.signature is None:
        findings.append(
            _finding(
                "unsigned",
                _line_for(("encryption",), key_lines, 2),
                "encryption: 2048-AES asks for an ML-DSA-65 signature, and the document is not signed (dunes maml sign)",
                "warning",
            )
        )
    return data, front, findings


def parse_info(info: str) -> tuple[str, dict[str, str], str | None]:
    """(language, attributes, error) from a fence info string like ``bash {name=setup}``."""
    info = info.strip()
    language, _, rest = info.partition(" ") if not info.startswith("{") else ("", "", info)
    if "{" in language:
        language, brace, tail = language.partition("{")
        rest = brace + tail + (" " + rest if rest else "")
    rest = rest.strip()
    language = LANGUAGE_ALIASES.get(language.lower(), language.lower())
    if not rest:
        return language, {}, None
    if not (rest.startswith("{") and rest.endswith("}")):
        return (
            language,
            {},
            f"attributes after the language go in braces, e.g. {{name=setup}}; found {rest!r}",
        )
    inner = rest[1:-1].strip()
    if inner.startswith('"'):
        try:
            loaded = json.loads(rest)
        except json.JSONDecodeError as exc:
            return language, {}, f"attributes are not valid JSON: {exc.msg}"
        if not isinstance(loaded, dict):
            return language, {}, "attributes must be key=value pairs"
        return language, {str(k): str(v) for k, v in loaded.items()}, None
    attrs: dict[str, str] = {}
    pos = 0
    while pos < len(inner):
        match = _ATTR.match(inner, pos)
        if match is None or match.end() == pos:
            return (
                language,
                {},
                f'cannot read attribute at {inner[pos : pos + 20]!r}; accepted: key=value or key="value with spaces"',
            )
        value = match.group(2)
        if value is None:
            value = "true"
        elif value[:1] in "\"'":
            value = value[1:-1]
        attrs[match.group(1)] = value
        pos = match.end()
    return language, attrs, None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "block"


def find_nested_fences(lines: list[str], first: int, last: int, char: str, size: int) -> list[int]:
    """Indexes of lines in ``lines[first:last]`` that open a fence CommonMark will not nest."""
    hits = []
    for i in range(first, last):
        match = FENCE_LINE.match(lines[i].rstrip("\r\n"))
        if (
            match
            and match.group(2)[0] == char
            and len(match.group(2)) >= size
            and match.group(3).strip()
        ):
            hits.append(i)
    return hits


def _parse_body(
    lines: list[str], offset: int
) -> tuple[list[Section], list[CodeBlock], list[Finding], int | None]:
    body = "".join(lines[offset:])
    tokens = _MD.parse(body)
    sections: list[Section] = []
    raw_blocks: list[tuple[Any, int, int, str]] = []
    findings: list[Finding] = []
    history_line: int | None = None
    heading_stack: list[str] = []
    current = ""
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map is not None:
            level = int(tok.tag[1:])
            title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            line = offset + tok.map[0] + 1
            sections.append(Section(level=level, title=title, line=line, end_line=line))
            del heading_stack[level - 1 :]
            heading_stack.extend([""] * (level - 1 - len(heading_stack)))
            heading_stack.append(title)
            current = title
            if level == 2 and title == "History" and history_line is None:
                history_line = line
        elif tok.type == "fence" and tok.map is not None:
            raw_blocks.append((tok, offset + tok.map[0], offset + tok.map[1], current))
    blocks: list[CodeBlock] = []
    names: dict[str, int] = {}
    for tok, start, stop, section in raw_blocks:
        line = start + 1
        if history_line is not None and line > history_line:
            continue
        char, size = tok.markup[0], len(tok.markup)
        closing = FENCE_LINE.match(lines[stop - 1].rstrip("\r\n")) if stop - 1 > start else None
        if (
            closing is None
            or closing.group(3).strip()
            or closing.group(2)[0] != char
            or len(closing.group(2)) < size
        ):
            findings.append(
                _finding(
                    "fence-unclosed",
                    line,
                    f"the {tok.markup}{tok.info.strip()} fence opened on line {line} is never closed; close it with a line of {size} or more {char!r}",
                )
            )
        for hit in find_nested_fences(lines, start + 1, stop - 1, char, size):
            inner = lines[hit].strip()
            findings.append(
                _finding(
                    "fence-nested",
                    hit + 1,
                    f"{inner!r} on line {hit + 1} opens a fence inside the {tok.markup}{tok.info.strip()} fence of line {line}, which CommonMark closes early on line {stop}; make the outer fence longer ({char * (size + 1)}) - 'dunes maml fmt' rewrites it",
                )
            )
        language, attrs, error = parse_info(tok.info)
        if error:
            findings.append(
                _finding("block-attributes", line, f"code block on line {line}: {error}")
            )
        explicit = "name" in attrs
        name = attrs.get("name") or (_slug(section) if section else f"block-{len(blocks) + 1}")
        if explicit and name in names:
            findings.append(
                _finding(
                    "block-name-duplicate",
                    line,
                    f"block name {name!r} on line {line} is already used on line {names[name]}; block names must be unique",
                )
            )
        elif not explicit:
            base, n = name, 2
            while name in names:
                name, n = f"{base}-{n}", n + 1
        names.setdefault(name, line)
        if "timeout" in attrs:
            try:
                if float(attrs["timeout"]) <= 0:
                    raise ValueError
            except ValueError:
                findings.append(
                    _finding(
                        "block-attributes",
                        line,
                        f"timeout={attrs['timeout']!r} on line {line}: a positive number of seconds is expected",
                    )
                )
        blocks.append(
            CodeBlock(
                index=len(blocks),
                name=name,
                language=language,
                attributes=attrs,
                content=tok.content,
                info=tok.info.strip(),
                section=section,
                line=line,
                end_line=stop,
                explicit_name=explicit,
                encrypted=language == "maml-encrypted",
            )
        )
    return sections, blocks, findings, history_line


def wrapped_in_fence(lines: list[str]) -> tuple[int, int] | None:
    """(opening, closing) line indexes when the whole document sits inside one fence."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    match = FENCE_LINE.match(lines[first].rstrip("\r\n"))
    following = next((i for i in range(first + 1, len(lines)) if lines[i].strip()), None)
    if match is None or following is None or lines[following].rstrip("\r\n") != "---":
        return None
    last = max(i for i, line in enumerate(lines) if line.strip())
    end = FENCE_LINE.match(lines[last].rstrip("\r\n"))
    if end is None or end.group(3).strip() or last == first:
        return None
    return first, last


def parse_document(text: str) -> MamlDocument:
    """Parse ``text``, recording every problem as a finding instead of raising.

    Raises:
        MamlSyntaxError: only when ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise MamlSyntaxError(f"a MAML document is text, got {type(text).__name__}")
    lines, end, findings = split_front_matter(text)
    if end is None:
        wrap = wrapped_in_fence(lines)
        if wrap is not None:
            findings = [
                _finding(
                    "document-wrapped",
                    wrap[0] + 1,
                    f"the whole document is wrapped in the fence of lines {wrap[0] + 1}-{wrap[1] + 1} (as the seed prints it); the front matter must start on line 1 - 'dunes maml fmt' unwraps it",
                )
            ]
        return MamlDocument(
            text=text,
            raw_front_matter={},
            front_matter=None,
            body_offset=0,
            sections=[],
            blocks=[],
            findings=findings,
        )
    raw, front, fm_findings = _parse_front_matter(lines, end)
    sections, blocks, body_findings, history_line = _parse_body(lines, end + 1)
    return MamlDocument(
        text=text,
        raw_front_matter=raw,
        front_matter=front,
        body_offset=end + 1,
        sections=sections,
        blocks=blocks,
        findings=[*fm_findings, *body_findings],
        history_line=history_line,
    )


def load_document(text: str) -> MamlDocument:
    """Parse ``text`` and insist it is valid.

    Raises:
        MamlSyntaxError: the front matter or fences do not parse (all problems, with lines).
        MamlValidationError: the front matter breaks the schema or a block is malformed.
    """
    doc = parse_document(text)
    if doc.errors:
        message = "; ".join(str(f) for f in doc.errors)
        syntax = {
            "front-matter-missing",
            "front-matter-unclosed",
            "front-matter-yaml",
            "document-wrapped",
            "fence-unclosed",
            "fence-nested",
        }
        cls: type[MamlError] = (
            MamlSyntaxError if any(f.code in syntax for f in doc.errors) else MamlValidationError
        )
        raise cls(message, field="document")
    return doc


def validate_document(text: str) -> DocumentReport:
    """Everything a client needs to know about ``text`` without running it."""
    doc = parse_document(text)
    return DocumentReport(
        valid=doc.ok,
        signed=doc.front_matter is not None and doc.front_matter.signature is not None,
        title=next((s.title for s in doc.sections if s.level == 1), None),
        front_matter={k: v for k, v in doc.raw_front_matter.items() if k != "signature"}
        if doc.raw_front_matter
        else {},
        blocks=[
            {
                "name": b.name,
                "language": b.language,
                "line": b.line,
                "attributes": b.attributes,
                "sha256": b.sha256,
            }
            for b in doc.blocks
        ],
        errors=doc.errors,
        warnings=doc.warnings,
    )
