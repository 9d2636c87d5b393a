"""The extraction role's rules: parameters out of a task in plain words.

Numbers may be digits or words ("four-qubit", "twenty four qubits"); the words around a number
decide what it counts (qubits, shots, depth, seed). Bitstrings are classified by the words
before them (marked / secret / basis). Small typos in the key words are tolerated.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

UNITS = {
    "zero": 0,
    "one": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
NUMBER_WORDS = [*UNITS, *TENS]
FIELDS = ("num_qubits", "shots", "marked", "angles", "secret")

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[|>⟩'\"=:°]")
_FILLERS = {
    "entangled",
    "logical",
    "physical",
    "data",
    "input",
    "total",
    "quantum",
    "separate",
    "distinct",
    "more",
}
_SECRET_WORDS = ("secret", "hidden", "key", "string", "oracle", "s")
_MARKED_WORDS = (
    "marked",
    "mark",
    "search",
    "find",
    "target",
    "item",
    "element",
    "solution",
    "winner",
    "look",
    "looking",
    "amplify",
    "seek",
    "searching",
    "finding",
)
_BASIS_WORDS = ("basis", "input", "state", "ket", "initial", "start", "starting", "register")


@dataclass
class Found:
    """What the rules found; ``None`` / empty means not found."""

    num_qubits: int | None = None
    shots: int | None = None
    marked: str | None = None
    secret: str | None = None
    basis: str | None = None
    bitstrings: list[str] = field(default_factory=list)
    angles: list[float] = field(default_factory=list)
    depth: int | None = None
    seed: int | None = None
    oracle: Literal["balanced", "constant"] | None = None
    variant: str | None = None

    @property
    def missing(self) -> list[str]:
        return [name for name in FIELDS if getattr(self, name) in (None, [])]


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


def _like(token: str, *words: str, cutoff: float = 0.8) -> bool:
    """True when ``token`` is one of ``words`` or a small typo of one (same first letter)."""
    if token in words:
        return True
    if len(token) < 4:
        return False
    return any(
        token[0] == w[0] and difflib.SequenceMatcher(None, token, w).ratio() >= cutoff
        for w in words
        if len(w) >= 4
    )


def is_qubit_word(token: str) -> bool:
    if token in ("qubit", "qubits", "qbit", "qbits", "qb", "qbs"):
        return True
    return (
        token[:1] in ("q", "c")
        and "b" in token
        and "t" in token
        and _like("q" + token[1:], "qubit", "qubits", "quibit", "quibits", cutoff=0.72)
    )


def _number_word(token: str) -> int | None:
    if token in UNITS:
        return UNITS[token]
    if token in TENS:
        return TENS[token]
    if len(token) >= 4:
        near = difflib.get_close_matches(token, NUMBER_WORDS, n=1, cutoff=0.8)
        if near:
            return UNITS.get(near[0], TENS.get(near[0]))
        # swapped letters ("fiev", "thre" is caught above): same letters, same first letter
        for word in NUMBER_WORDS:
            if word[0] == token[0] and sorted(word) == sorted(token):
                return UNITS.get(word, TENS.get(word))
    return None


def _int_at(tokens: list[_Tok], i: int) -> tuple[int, int] | None:
    """(value, first token index) of a number ending at token ``i``, digits or words."""
    if i < 0:
        return None
    tok = tokens[i].text
    if tok.isdigit():
        return int(tok), i
    multiplier = re.fullmatch(r"(\d+(?:\.\d+)?)([km])", tok)
    if multiplier:
        scaled = float(multiplier.group(1)) * (1000 if multiplier.group(2) == "k" else 1_000_000)
        return int(scaled), i
    value = _number_word(tok)
    if value is None:
        return None
    if value < 10 and i > 0 and tokens[i - 1].text in TENS:
        return TENS[tokens[i - 1].text] + value, i - 1
    return value, i


def _int_after(tokens: list[_Tok], i: int) -> tuple[int, int] | None:
    """(value, last token index) of a number starting at token ``i``."""
    if i >= len(tokens):
        return None
    tok = tokens[i].text
    if tok in TENS and i + 1 < len(tokens) and tokens[i + 1].text in UNITS:
        unit = UNITS[tokens[i + 1].text]
        if unit < 10:
            return TENS[tok] + unit, i + 1
    found = _int_at(tokens, i)
    return (found[0], i) if found else None


def _skip_separators(tokens: list[_Tok], i: int) -> int:
    while i < len(tokens) and tokens[i].text in ("=", ":", "of", "is", "to", "count", "number"):
        i += 1
    return i


def _count_before_or_after(
    tokens: list[_Tok], is_word: Callable[[str], bool], used: set[int], *, allow_after: bool = True
) -> int | None:
    for i, tok in enumerate(tokens):
        if not is_word(tok.text):
            continue
        j = i - 1
        skipped = 0
        while j >= 0 and tokens[j].text in _FILLERS and skipped < 2:
            j -= 1
            skipped += 1
        before = _int_at(tokens, j)
        if before is not None:
            used.update(range(before[1], j + 1))
            return before[0]
        if allow_after:
            k = _skip_separators(tokens, i + 1)
            if k > i + 1 or (k < len(tokens) and tokens[k].text.isdigit()):
                after = _int_after(tokens, k)
                if after is not None and (k > i + 1 or tokens[i].text.endswith("s")):
                    used.update(range(k, after[1] + 1))
                    return after[0]
    return None


def _keyword_count(tokens: list[_Tok], words: tuple[str, ...], used: set[int]) -> int | None:
    """A number right after one of ``words`` (with '=', ':' or 'of' between), e.g. 'seed 42'."""
    for i, tok in enumerate(tokens):
        if tok.text in words:
            k = _skip_separators(tokens, i + 1)
            after = _int_after(tokens, k)
            if after is not None and k not in used:
                used.update(range(k, after[1] + 1))
                return after[0]
    return None


_PI = r"(?:pi|π)"
_ANGLE_PI = re.compile(
    rf"(?<![\w.])(-)?\s*(\d+(?:\.\d+)?)?\s*\*?\s*{_PI}\s*(?:/\s*(\d+(?:\.\d+)?))?", re.IGNORECASE
)
_ANGLE_DEG = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:°|deg\b|degrees?\b)", re.IGNORECASE)
_ANGLE_NAMED = re.compile(
    r"(?:theta|phi|lambda|angle|θ|φ|λ|rotation|rotate(?:d)?(?:\s+by)?)\s*(?:=|:|of|is|by)?\s*"
    r"(-?\d+(?:\.\d+)?)(?!\s*(?:°|deg|\d|\*?\s*(?:pi|π)))(?:\s*rad(?:ians)?)?",
    re.IGNORECASE,
)
_ANGLE_RAD = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*rad(?:ians)?\b", re.IGNORECASE)
_VARIANT = re.compile(r"(phi|psi|φ|ψ|Φ|Ψ)\s*(\+|-|plus|minus)", re.IGNORECASE)


def _angles(text: str) -> list[float]:
    spans: list[tuple[int, float]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, value: float) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        spans.append((start, value))

    for m in _ANGLE_PI.finditer(text):
        factor = float(m.group(2)) if m.group(2) else 1.0
        divisor = float(m.group(3)) if m.group(3) else 1.0
        if divisor == 0:
            continue
        value = factor * math.pi / divisor
        add(m.start(), m.end(), -value if m.group(1) else value)
    for m in _ANGLE_DEG.finditer(text):
        add(m.start(), m.end(), math.radians(float(m.group(1))))
    for pattern in (_ANGLE_NAMED, _ANGLE_RAD):
        for m in pattern.finditer(text):
            add(m.start(1), m.end(), float(m.group(1)))
    return [value for _, value in sorted(spans)]


_BITS = re.compile(r"(?<![\w.])[|'\"]?([01]{2,})(?:>|⟩|'|\")?(?![\w.])")


def _bitstrings(text: str, tokens: list[_Tok], used: set[int]) -> list[tuple[str, str]]:
    """(kind, bits) in text order; kind is secret, marked, basis or plain."""
    used_spans = [(tokens[i].start, tokens[i].end) for i in used]
    found = []
    lower = text.lower()
    for m in _BITS.finditer(lower):
        if any(s <= m.start(1) < e for s, e in used_spans):
            continue
        wrapped = m.group(0) != m.group(1)
        before = [t.text for t in tokens if t.end <= m.start()][-4:]
        kind = "plain"
        for word in reversed(before):  # the nearest telling word decides
            if word in _SECRET_WORDS:
                kind = "secret"
            elif _like(word, *_MARKED_WORDS):
                kind = "marked"
            elif word in _BASIS_WORDS:
                kind = "basis"
            if kind != "plain":
                break
        if kind == "plain" and m.group(0).startswith("|"):
            kind = "basis"
        if kind == "plain" and not wrapped and len(m.group(1)) < 3:
            continue  # "10" alone is more likely a number than a bitstring
        found.append((kind, m.group(1)))
    return found


def extract(text: str) -> Found:
    """Every parameter the rules can find in ``text``."""
    tokens = _tokens(text)
    used: set[int] = set()
    found = Found()
    found.num_qubits = _count_before_or_after(tokens, is_qubit_word, used)
    found.shots = _count_before_or_after(
        tokens,
        lambda t: (
            _like(t, "shots", "shot", "samples", "sample", "measurements", "repetitions")
            or t in ("times", "runs")
        ),
        used,
    )
    found.depth = _keyword_count(tokens, ("depth",), used) or _count_before_or_after(
        tokens, lambda t: t in ("layers", "layer"), used, allow_after=False
    )
    found.seed = _keyword_count(tokens, ("seed", "seeded"), used)
    if found.num_qubits is None:
        found.num_qubits = _keyword_count(tokens, ("n",), used)
        if found.num_qubits is None:
            # "a pair of qubits" / "single qubit" forms
            words = [t.text for t in tokens]
            for i, word in enumerate(words[:-2]):
                if word == "pair" and words[i + 1] == "of" and is_qubit_word(words[i + 2]):
                    found.num_qubits = 2
    for kind, bits in _bitstrings(text, tokens, used):
        found.bitstrings.append(bits)
        if kind == "secret" and found.secret is None:
            found.secret = bits
        elif kind == "marked" and found.marked is None:
            found.marked = bits
        elif kind == "basis" and found.basis is None:
            found.basis = bits
    found.angles = _angles(text)
    seen = {t.text for t in tokens}
    if "balanced" in seen:
        found.oracle = "balanced"
    elif "constant" in seen:
        found.oracle = "constant"
    variant = _VARIANT.search(text)
    if variant:
        head = "psi" if variant.group(1).lower() in ("psi", "ψ") else "phi"
        sign = "+" if variant.group(2).lower() in ("+", "plus") else "-"
        found.variant = head + sign
    return found
