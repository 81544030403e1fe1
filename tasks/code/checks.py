"""Split a ``check(candidate)`` test into one test per assert, so code rewards are fractional.

The reference (RLDF.md C.2, ``_split_check_function``) turns a check function with several
asserts into one test per assert, keeping the preamble and the non-assert setup lines. Here:

- a *test unit* is a top-level statement of the check body that contains an ``assert``
  (a bare assert, or a loop/``if``/``with`` holding asserts); every other statement is setup and
  is kept, in order, in every split test;
- ``assert <constant>`` (HumanEval's ``assert True, "This prints if..."``) tests nothing and is
  dropped: kept, it would give a ``pass`` body free reward (the reference keeps it);
- the check function is renamed to ``_rldf_check`` (with its call) so a function under test
  that is itself named ``check`` (3 MBPP items) is not shadowed; in the reference those items
  recurse and always fail;
- a check body that never uses ``candidate`` (MBPP: its asserts call the function by name) is
  called with ``None``: the reference MBPP file calls it with the first function of its own
  solution, which for 18 of 498 items is a helper (``check(str_to_list)`` for
  ``remove_dirty_chars``) that a correct program need not define — the call's NameError would
  fail the program on a test MBPP never had.

A test that does not parse, or has no ``check`` function, stays one test.
"""

from __future__ import annotations

import ast
import copy
from functools import lru_cache

CHECK_NAME = "_rldf_check"


def _has_assert(node: ast.stmt) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _is_trivial(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assert) and isinstance(node.test, ast.Constant) and bool(node.test.value)


def _is_call_of(node: ast.stmt, name: str) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == name)


@lru_cache(maxsize=4096)
def split_check(test: str) -> tuple[str, ...]:
    """``test`` as a tuple of self-contained test snippets, one per assert (see module docstring)."""
    try:
        module = ast.parse(test)
    except SyntaxError:
        return (test,)
    index = next((i for i, node in enumerate(module.body)
                  if isinstance(node, ast.FunctionDef) and node.name == "check"), None)
    if index is None:
        return (test,)
    check = module.body[index]
    units = [i for i, stmt in enumerate(check.body) if _has_assert(stmt) and not _is_trivial(stmt)]
    if not units:
        units = [i for i, stmt in enumerate(check.body) if _has_assert(stmt)][:1]
    if not units:
        return (test,)
    uses_candidate = any(isinstance(n, ast.Name) and n.id == "candidate" for n in ast.walk(check))
    tests = []
    for unit in units:
        body = [stmt for i, stmt in enumerate(check.body) if i == unit or not _has_assert(stmt)]
        tests.append(_render(module, index, body, uses_candidate))
    return tuple(tests)


def _render(module: ast.Module, index: int, body: list[ast.stmt], uses_candidate: bool) -> str:
    """The module with the check function's body replaced and check renamed (calls included);
    a check that ignores ``candidate`` is called with ``None`` (see the module docstring)."""
    new_check = copy.copy(module.body[index])
    new_check.name, new_check.body = CHECK_NAME, body
    statements = []
    for i, node in enumerate(module.body):
        if i == index:
            statements.append(new_check)
        elif i > index and _is_call_of(node, "check"):
            call = node.value
            args = call.args if uses_candidate else [ast.Constant(None) for _ in call.args]
            statements.append(ast.Expr(ast.Call(ast.Name(CHECK_NAME, ast.Load()), args, call.keywords)))
        else:
            statements.append(node)
    new = ast.Module(body=statements, type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(new))
