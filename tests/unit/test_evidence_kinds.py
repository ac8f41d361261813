"""Every evidence kind the code can write has a French label in the evidence file (services/export_fr.toml).

The kinds are found by reading the source, not from a list kept by hand: the `EvidenceKind` values of the state
machine, and every `kind=` given to `storage.evidence.record` or to a function that passes its own `kind` on to it
(found to a fixed point: `bump`, the outbox's `_record`, ...). A new kind without a label makes this test fail.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from dunning.invoice_states import EvidenceKind

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("storage", "services", "bot")
# Kinds computed at run time whose values the scan cannot read, with where their values are listed instead.
DYNAMIC = {"transition.kind.value"}  # EvidenceKind, added below


def _trees() -> dict[Path, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                out[path] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _kind_arg(call: ast.Call) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == "kind"), None)


def _writers(trees: dict[Path, ast.Module]) -> set[str]:
    """`record` and every function that hands its own `kind` parameter on to a writer."""
    writers = {"record"}
    while True:
        found = set(writers)
        for tree in trees.values():
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                params = {a.arg for a in (*fn.args.args, *fn.args.kwonlyargs)}
                if "kind" not in params:
                    continue
                for call in ast.walk(fn):
                    if isinstance(call, ast.Call) and _name(call) in writers:
                        arg = _kind_arg(call)
                        if isinstance(arg, ast.Name) and arg.id == "kind":
                            found.add(fn.name)
        if found == writers:
            return writers
        writers = found


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _resolve(arg: ast.expr, fn: ast.AST | None, module: ast.Module) -> set[str] | None:
    """The string values `arg` can take: a literal, a module constant, or a local assigned from literals
    (the outbox's {outcome: kind} table); None when the scan cannot tell."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return {arg.value}
    if isinstance(arg, ast.IfExp):
        body, other = _resolve(arg.body, fn, module), _resolve(arg.orelse, fn, module)
        return None if body is None or other is None else body | other
    if isinstance(arg, ast.Name):
        for scope in (fn, module):
            if scope is None:
                continue
            values: set[str] = set()
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == arg.id for t in node.targets
                ):
                    value = node.value
                    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Dict):
                        values |= {v.value for v in value.value.values if isinstance(v, ast.Constant)}
                    else:
                        values |= _strings(value)
            if values:
                return values
    return None


def written_kinds() -> set[str]:
    """Every evidence kind the code can write."""
    trees = _trees()
    writers = _writers(trees)
    kinds = {k.value for k in EvidenceKind}
    unknown = []
    for path, tree in trees.items():
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _name(call) not in writers:
                continue
            arg = _kind_arg(call)
            if arg is None:
                continue
            enclosing = next((f for f in functions if call in set(ast.walk(f))), None)
            if isinstance(arg, ast.Name) and arg.id == "kind" and enclosing is not None:
                params = {a.arg for a in (*enclosing.args.args, *enclosing.args.kwonlyargs)}
                if "kind" in params and enclosing.name in writers:
                    continue  # a pass-through: its callers are scanned
            values = _resolve(arg, enclosing, tree)
            if values is None:
                if ast.unparse(arg) not in DYNAMIC:
                    unknown.append(f"{path.relative_to(ROOT)}:{call.lineno} kind={ast.unparse(arg)}")
                continue
            kinds |= values
    assert not unknown, f"evidence kinds the scan cannot read (name them in DYNAMIC with their source): {unknown}"
    return kinds


def test_every_written_kind_has_a_french_label() -> None:
    """Each kind found in the code is named in French in the evidence file: none is shown raw or dropped."""
    with (ROOT / "services" / "export_fr.toml").open("rb") as fh:
        labels = tomllib.load(fh)["kinds"]
    kinds = written_kinds()
    missing = sorted(k for k in kinds if not labels.get(k, "").strip())
    assert not missing, f"evidence kinds without a French label in services/export_fr.toml [kinds]: {missing}"


def test_the_scan_finds_kinds_written_through_helpers() -> None:
    """The scan is not empty-handed: it finds kinds passed literally, through `bump` / the outbox's table, by a
    module constant, and the state machine's."""
    kinds = written_kinds()
    assert {"statement_imported", "draft_edited", "smtp_failed", "access_refused_count", "plan_started"} <= kinds
