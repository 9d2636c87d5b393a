"""Symbolic gate parameters: ``theta``, ``2*theta + phi``, ``pi/2 - gamma``.

An expression holds numbers, the constants pi, tau and e, parameter names and + - * / **. It is
checked once (never Python's eval) and evaluates on floats or on numpy arrays alike, so a sweep
computes each gate's angles for every binding at once.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dunes.errors import CircuitSyntaxError, CircuitValidationError

CONSTANTS = {"pi": math.pi, "tau": math.tau, "e": math.e}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Expr:
    """One gate parameter: a number, or an expression over parameter names."""

    text: str
    names: frozenset[str] = field(default_factory=frozenset)
    _tree: ast.Expression | None = field(default=None, compare=False, repr=False)

    @property
    def constant(self) -> bool:
        return not self.names

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value for ``values`` (floats, or arrays of one length: one value per binding).

        Raises:
            CircuitValidationError: a parameter has no value (names it).
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise CircuitValidationError(
                f"parameter {', '.join(missing)} has no value; bind it (--param "
                f"{missing[0]}=..., or bindings with that name)",
                field="parameters",
            )
        assert self._tree is not None
        return _walk(self._tree.body, values)


def parse_expr(text: str) -> Expr:
    """Check a parameter expression.

    Raises:
        CircuitSyntaxError: it is not numbers, pi/tau/e, names and + - * / **.
    """
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CircuitSyntaxError(f"cannot read parameter {text!r}") from exc
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id.lower() not in CONSTANTS:
                names.add(node.id)
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise CircuitSyntaxError(f"parameter {text!r}: only numbers are constants")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise CircuitSyntaxError(f"parameter {text!r}: only + - * / ** combine values")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise CircuitSyntaxError(f"parameter {text!r}: only - and + apply to one value")
        elif not isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
            raise CircuitSyntaxError(
                f"parameter {text!r}: only numbers, pi, tau, e, parameter names and "
                "+ - * / ** are allowed"
            )
    return Expr(text=source, names=frozenset(names), _tree=tree)


def number(value: float) -> Expr:
    """A constant parameter."""
    return parse_expr(repr(float(value)))


def check_name(name: str) -> str:
    """A parameter name as bindings give it.

    Raises:
        CircuitValidationError: not an identifier, or a constant's name.
    """
    if not _NAME.match(name) or name.lower() in CONSTANTS:
        raise CircuitValidationError(
            f"parameter name {name!r}: use letters, digits and _ (not pi, tau or e)",
            field="parameters",
        )
    return name


def _walk(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # checked by parse_expr
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id.lower() in CONSTANTS and node.id not in values:
            return CONSTANTS[node.id.lower()]
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _walk(node.operand, values)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_walk(node.left, values), _walk(node.right, values))
    raise CircuitValidationError(f"cannot evaluate {ast.dump(node)}")


def as_array(value: Any, size: int) -> np.ndarray:
    """A value for every binding: broadcast a constant, check an array's length."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full(size, float(array))
    return array
