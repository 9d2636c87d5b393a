"""Seed notation: the vendor guide's ``h(0); cx(0,1)``, extended.

Every standard gate, parameters first, then qubits (``rx(pi/2, 0)``, ``cp(pi/4, 0, 1)``);
``measure`` alone measures every qubit, ``measure(q)`` or ``measure(q, c)`` one; ``#`` and ``//``
start comments; statements end at ``;`` or a newline. Classical control::

    if(c==1) x(0)                       # the whole classical register
    if(c[2]==1) x(0)   if(c[2]) x(0)   if(!c[2]) x(0)
    if (c[0:2] != 3) { x(0); h(1) } else { z(0) }
"""

from __future__ import annotations

import re

from dunes.errors import CircuitSyntaxError
from dunes.quantum.circuit import CircuitSpec
from dunes.quantum.statements import (
    Arg,
    ConditionSyntax,
    Place,
    Statement,
    TextPlace,
    build_spec,
    read_index,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_KEYWORDS = ("if", "else")
CONDITION_FORMS = "c==1, c[0]==1, c[0], !c[0], c[0:2]==3 or c!=2"


def parse_seed(text: str, *, num_qubits: int | None = None, name: str | None = None) -> CircuitSpec:
    """Parse seed notation (see the module docstring).

    Raises:
        CircuitSyntaxError: with the line and column of the mistake.
        CircuitValidationError: it reads, but breaks a rule (range, arity, empty).
    """
    reader = _Reader(text)
    statements = reader.block(closing=None)
    return build_spec(statements, num_qubits=num_qubits, name=name)


class _Reader:
    """A recursive-descent reader over the text, keeping the position for messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def place(self, pos: int | None = None) -> Place:
        return TextPlace(self.text, self.pos if pos is None else pos)

    def error(self, message: str, pos: int | None = None) -> CircuitSyntaxError:
        error = self.place(pos).syntax(message)
        assert isinstance(error, CircuitSyntaxError)
        return error

    def skip_blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#" or self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif char in " \t\r\ufeff" or (newlines and char == "\n"):
                self.pos += 1
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def word(self) -> str | None:
        match = _NAME.match(self.text, self.pos)
        return match.group() if match else None

    def block(self, *, closing: str | None) -> list[Statement]:
        """Statements up to ``closing`` (``}``) or the end of the text."""
        statements: list[Statement] = []
        while True:
            self.skip_blank(newlines=True)
            while self.peek() == ";":
                self.pos += 1
                self.skip_blank(newlines=True)
            if closing is not None and self.peek() == closing:
                self.pos += 1
                return statements
            if not self.peek():
                if closing is not None:
                    raise self.error(f"unclosed block: expected {closing!r}")
                return statements
            statements.append(self.statement(nested=closing is not None))

    def statement(self, *, nested: bool, in_if: bool = False) -> Statement:
        start = self.pos
        word = self.word()
        if word is None:
            raise self.error(f"expected a gate name, found {self.peek()!r}")
        if word == "if":
            return self.if_statement(start)
        if word == "else":
            raise self.error("'else' without an 'if' before it")
        self.pos += len(word)
        self.skip_blank(newlines=False)
        args: list[Arg] = []
        if self.peek() == "(":
            args = self.args()
            self.skip_blank(newlines=False)
        ends = (";", "\n", "") + (("}",) if nested else ())
        if self.peek() not in ends and not (in_if and self.word() == "else"):
            raise self.error(f"expected ';' or a new line after {word!r}, found {self.peek()!r}")
        return Statement(name=word, args=args, place=self.place(start))

    def if_statement(self, start: int) -> Statement:
        self.pos += 2
        self.skip_blank(newlines=False)
        if self.peek() != "(":
            raise self.error(
                f"expected '(' and a condition after 'if', like if({CONDITION_FORMS.split(',')[0]})"
            )
        condition = self.condition()
        body = self.branch()
        orelse: list[Statement] = []
        resume = self.pos
        self.skip_blank(newlines=True)
        if self.word() == "else":
            self.pos += 4
            orelse = self.branch()
        else:
            self.pos = resume
        return Statement(
            name="if",
            args=[],
            place=self.place(start),
            condition=condition,
            body=body,
            orelse=orelse,
        )

    def branch(self) -> list[Statement]:
        """A ``{ block }`` or one statement (an ``if`` included)."""
        self.skip_blank(newlines=False)
        if self.peek() == "{":
            self.pos += 1
            return self.block(closing="}")
        if self.peek() in (";", "\n", ""):
            raise self.error("expected a statement or a { block } here")
        return [self.statement(nested=True, in_if=True)]

    def condition(self) -> ConditionSyntax:
        open_pos = self.pos
        close = self.text.find(")", open_pos)
        if close < 0 or "\n" in self.text[open_pos:close]:
            raise self.error("unclosed '(': expected ')'", open_pos)
        inside = self.text[open_pos + 1 : close]
        self.pos = close + 1
        return _read_condition(inside, self.place(open_pos + 1))

    def args(self) -> list[Arg]:
        """``( a, b, ... )`` split on top-level commas, each with its position."""
        open_pos = self.pos
        self.pos += 1
        depth = 0
        args: list[Arg] = []
        start = self.pos
        while True:
            char = self.peek()
            if char == "" or char == ";" or (char == "\n" and depth == 0):
                raise self.error("unclosed '(': expected ')'", open_pos)
            if char == "(":
                depth += 1
            elif char == ")" and depth > 0:
                depth -= 1
            elif char in ",)" and depth == 0:
                piece = self.text[start : self.pos]
                if piece.strip() or char == "," or args:
                    if not piece.strip():
                        raise self.error("empty argument", self.pos)
                    offset = len(piece) - len(piece.lstrip())
                    args.append(Arg(piece.strip(), self.place(start + offset)))
                self.pos += 1
                if char == ")":
                    return args
                start = self.pos
                continue
            self.pos += 1


_CONDITION = re.compile(
    r"\s*(?P<not>!)?\s*(?P<reg>[A-Za-z_][A-Za-z_0-9]*)\s*"
    r"(?:\[\s*(?P<bits>[0-9][0-9\s,:]*)\s*\])?\s*"
    r"(?:(?P<op>==|!=)\s*(?P<value>[0-9]+))?\s*"
)


def _read_condition(text: str, place: Place) -> ConditionSyntax:
    """``c==1``, ``c[2]``, ``!c[2]``, ``c[0:2]==3``, ``c[0,3]!=1`` (``c``: the register)."""
    match = _CONDITION.fullmatch(text)
    expected = f"expected a condition like {CONDITION_FORMS}, found {text.strip()!r}"
    if not match or match.group("reg") in _KEYWORDS:
        raise place.syntax(expected)
    bits = _read_bits(match.group("bits"), place) if match.group("bits") is not None else None
    negated = match.group("not") is not None
    if match.group("op") is None:
        if bits is None or len(bits) != 1:
            # ``c`` alone reads "the register is not zero": the else of c==0.
            if bits is None:
                return ConditionSyntax(bits=None, value=0, negated=not negated, place=place)
            raise place.syntax(f"{expected} (compare several bits with ==)")
        return ConditionSyntax(bits=bits, value=1, negated=negated, place=place)
    if negated:
        raise place.syntax(f"{expected} (write != instead of ! with a comparison)")
    value_text = match.group("value")
    if len(value_text) > 18:
        raise place.rule(f"the condition's value {value_text} is too large")
    return ConditionSyntax(
        bits=bits, value=int(value_text), negated=match.group("op") == "!=", place=place
    )


def _read_bits(text: str, place: Place) -> tuple[int, ...]:
    compact = text.replace(" ", "")
    if ":" in compact:
        low_text, _, high_text = compact.partition(":")
        low = read_index(low_text, place, "a classical bit index")
        high = read_index(high_text, place, "a classical bit index")
        if high <= low:
            raise place.syntax(f"the range c[{low}:{high}] is empty; write c[low:high], low < high")
        return tuple(range(low, high))
    return tuple(read_index(part, place, "a classical bit index") for part in compact.split(","))
