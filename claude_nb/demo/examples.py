"""Example tools for tutorials and tests: a safe calculator and a small element table.

    from claude_nb.demo.examples import calculator, lookup
    %%claude --tools calculator,lookup
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import math
import operator
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["ELEMENTS", "calculator", "lookup", "table", "wait"]

# ---------------------------------------------------------------- calculator

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg,
                                                          ast.UAdd: operator.pos}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "log2": math.log2, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil,
    "factorial": math.factorial,
}
_MAX_LENGTH = 1000
_MAX_RESULT_DIGITS = 10_000


def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression safely, like a pocket calculator.

    Supports + - * / // % ** and parentheses, unary minus, the constants pi, e, tau and
    inf, and the functions sqrt, log (natural, or log(x, base)), log10, log2, exp, sin,
    cos, tan, asin, acos, atan (radians), abs, round, floor, ceil and factorial.
    Use ** for powers (^ is not supported).

    Args:
        expression: The expression, e.g. "2 * (3 + 4) ** 2" or "sqrt(2) / 2".

    Returns:
        The value: an integer when the result is exact, otherwise a float.
    """
    if len(expression) > _MAX_LENGTH:
        raise ValueError(f"expression is too long (over {_MAX_LENGTH} characters)")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"not a valid expression: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("expression is nested too deeply") from None
    try:
        value: float = _evaluate(tree.body)
    except RecursionError:
        raise ValueError("expression is nested too deeply") from None
    return value


def _evaluate(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"only numbers are allowed, not {node.value!r}")
        return node.value
    if isinstance(node, ast.BinOp):
        op = _BINARY.get(type(node.op))
        if op is None:
            hint = " (use ** for powers)" if isinstance(node.op, ast.BitXor) else ""
            raise ValueError(f"unsupported operator {_source(node.op)}{hint}")
        left, right = _evaluate(node.left), _evaluate(node.right)
        if op is operator.pow:
            _check_power(left, right)
        try:
            result = op(left, right)
        except ZeroDivisionError:
            raise ValueError("division by zero") from None
        except OverflowError:
            raise ValueError("result too large") from None
        if isinstance(result, complex):
            raise ValueError("the result is not a real number")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise ValueError(f"unknown name {node.id!r}; constants: {', '.join(_CONSTANTS)}")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call):
        return _call(node)
    raise ValueError(f"unsupported syntax: {type(node).__name__}")


def _call(node: ast.Call) -> Any:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name not in _FUNCTIONS:
        shown = name or type(node.func).__name__
        raise ValueError(f"unknown function {shown!r}; functions: {', '.join(_FUNCTIONS)}")
    if node.keywords:
        raise ValueError(f"{name}() takes no keyword arguments")
    args = [_evaluate(a) for a in node.args]
    if name == "factorial" and args and isinstance(args[0], int) and args[0] > 1000:
        raise ValueError("factorial argument too large (limit 1000)")
    try:
        return _FUNCTIONS[name](*args)
    except TypeError as e:
        raise ValueError(f"{name}(): {e}") from None
    except (ValueError, OverflowError) as e:
        raise ValueError(f"{name}({', '.join(map(repr, args))}): {e}") from None


def _check_power(base: Any, exponent: Any) -> None:
    """Refuse integer powers with more digits than anyone needs (9**9**9 would hang)."""
    if (isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0
            and exponent * math.log10(abs(base)) > _MAX_RESULT_DIGITS):
        raise ValueError(f"result too large (more than {_MAX_RESULT_DIGITS:,} digits)")


def _source(op: ast.operator) -> str:
    symbols = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<",
               ast.RShift: ">>", ast.MatMult: "@"}
    return symbols.get(type(op), type(op).__name__)


# ---------------------------------------------------------------- element table

ElementField = Literal["symbol", "atomic_number", "atomic_mass", "category", "phase"]

ELEMENTS: tuple[dict[str, Any], ...] = tuple(
    dict(zip(("name", "symbol", "atomic_number", "atomic_mass", "category", "phase"), row))
    for row in (
        ("Hydrogen", "H", 1, 1.008, "nonmetal", "gas"),
        ("Helium", "He", 2, 4.0026, "noble gas", "gas"),
        ("Lithium", "Li", 3, 6.94, "alkali metal", "solid"),
        ("Carbon", "C", 6, 12.011, "nonmetal", "solid"),
        ("Nitrogen", "N", 7, 14.007, "nonmetal", "gas"),
        ("Oxygen", "O", 8, 15.999, "nonmetal", "gas"),
        ("Neon", "Ne", 10, 20.180, "noble gas", "gas"),
        ("Sodium", "Na", 11, 22.990, "alkali metal", "solid"),
        ("Iron", "Fe", 26, 55.845, "transition metal", "solid"),
        ("Copper", "Cu", 29, 63.546, "transition metal", "solid"),
        ("Silver", "Ag", 47, 107.87, "transition metal", "solid"),
        ("Gold", "Au", 79, 196.97, "transition metal", "solid"),
        ("Mercury", "Hg", 80, 200.59, "transition metal", "liquid"),
    )
)
"""A small table of chemical elements (standard atomic masses, phase at room temperature)."""


def lookup(name: str, field: ElementField | None = None) -> dict[str, Any]:
    """Look up a chemical element in a small local table.

    The table holds H, He, Li, C, N, O, Ne, Na, Fe, Cu, Ag, Au and Hg.

    Args:
        name: Element name or symbol, any case, e.g. "gold" or "Au".
        field: Only return this field; all fields when omitted.

    Returns:
        The element's record, or its name and the requested field.
    """
    key = name.strip().lower()
    for row in ELEMENTS:
        if key in (row["name"].lower(), row["symbol"].lower()):
            return dict(row) if field is None else {"name": row["name"], field: row[field]}
    names = [row["name"] for row in ELEMENTS]
    close = difflib.get_close_matches(name.strip().title(), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown element {name!r}.{hint} Known elements: {', '.join(names)}")


def table() -> list[dict[str, Any]]:
    """Return the whole local table of chemical elements, one record per element."""
    return [dict(row) for row in ELEMENTS]


async def wait(seconds: float) -> str:
    """Wait for a number of seconds, then say so (for trying out timeouts and Stop).

    Args:
        seconds: How long to wait, at most 600.
    """
    if not 0 <= seconds <= 600:
        raise ValueError("seconds must be between 0 and 600")
    await asyncio.sleep(seconds)
    return f"waited {seconds:g} s"
