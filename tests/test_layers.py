"""The package's imports follow its layers: protocol -> run -> render -> frontends.

Each layer may import only itself and the layers to its left; the offline pieces stand apart:
the loopback server imports only protocol values, the demo imports the loopback and protocol,
and only `run/backend.py` reaches the demo, inside a function (its lazy seam; the loopback's
`python -m` program may too). Every import counts, also one inside a function: a lazy import
is still a dependency. The imports are read with `ast` from the source files, so a crossing
fails here before anyone runs into it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import claude_nb

PACKAGE = Path(claude_nb.__file__).resolve().parent

RANK = {"protocol": 0, "run": 1, "context": 1, "persist": 1, "render": 2, "frontends": 3,
        "bulk": 3}
"""The layers, left to right. `context` (notebook values -> content blocks) and `persist`
(saving a conversation) sit beside the run loop; `bulk` is a Python-API face like `frontends`."""

APART = {"loopback": {"loopback", "protocol"}, "demo": {"demo", "loopback", "protocol"}}
"""What each offline piece may import."""

DEMO_SEAM = "run/backend.py"
DEMO_PROGRAMS = {"loopback/__main__.py"}
"""Programs, not library modules: `python -m claude_nb.loopback --demo` serves the demo's
answers, so it may reach the demo too, also only inside a function."""


def _group(module: str) -> str:
    """`claude_nb.run.session` -> "run"; the package root -> "" (the public face)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, source: str | None = None) -> list[tuple[int, str, bool, tuple[str, ...]]]:
    """(line, absolute module, at module level, names) of every claude_nb import in `path`
    (or in `source`, read as if it were that file)."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(n) for n in tree.body}
    found: list[tuple[int, str, bool, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(a.name for a in node.names)
            if target == "claude_nb" and names != ("__version__",):
                # `from .. import render`: each name is a sub-package of the root
                found += [(node.lineno, f"{target}.{n}", id(node) in top, (n,)) for n in names]
                continue
            found.append((node.lineno, target, id(node) in top, names))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, id(node) in top, ()) for a in node.names]
    return [f for f in found if f[1] == "claude_nb" or f[1].startswith("claude_nb.")]


def _crossing(source: Path, target: str, top_level: bool) -> str | None:
    """Why importing `target` from `source` runs against the layers, or None."""
    src, dst = _group(_module_name(source)), _group(target)
    rel = source.relative_to(PACKAGE).as_posix()
    if dst == "":  # only `from .. import __version__` gets here
        return f"{src} reaches the package root" if src in APART else None
    if src == "" or src == dst:
        return None  # the root is the public face; a layer may use itself
    if dst == "demo":
        if (rel == DEMO_SEAM or rel in DEMO_PROGRAMS) and not top_level:
            return None
        return f"reaches the demo ({target}); only {DEMO_SEAM} may, inside a function"
    if src in APART:
        return None if dst in APART[src] else f"{src} may import only {sorted(APART[src])}"
    if dst in APART:
        return f"reaches {dst} ({target}), which stands apart"
    if src not in RANK or dst not in RANK:
        return f"{src or dst!r} has no layer: add it to RANK in tests/test_layers.py"
    if RANK[dst] > RANK[src]:
        return f"{src} (layer {RANK[src]}) imports {dst} (layer {RANK[dst]}), against the direction"
    return None


def _all_crossings() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, target, top_level, _ in _imports(path):
            why = _crossing(path, target, top_level)
            if why is not None:
                out.append(f"{path.relative_to(PACKAGE).as_posix()}:{line}: {why}")
    return out


def test_no_import_runs_against_the_layers() -> None:
    assert _all_crossings() == []


def test_the_walk_sees_lazy_relative_and_absolute_imports() -> None:
    """The checker itself: crossings inside a function, relative or absolute, are caught."""
    probe = PACKAGE / "protocol" / "probe.py"  # never written: the source is given
    source = "def f():\n    from ..render import sanitize\n    import claude_nb.run.session\n"
    found = _imports(probe, source)
    assert [(target, top) for _, target, top, _ in found] == [
        ("claude_nb.render", False), ("claude_nb.run.session", False)]
    reasons = [_crossing(probe, target, top) for _, target, top, _ in found]
    assert all(r is not None and "against the direction" in r for r in reasons), reasons


def test_only_the_backend_seam_reaches_the_demo_and_only_lazily() -> None:
    backend = PACKAGE / DEMO_SEAM
    demo_imports = [(t, top) for _, t, top, _ in _imports(backend) if _group(t) == "demo"]
    assert demo_imports and all(not top for _, top in demo_imports)
    assert _crossing(backend, "claude_nb.demo.backend", top_level=True) is not None
    assert _crossing(PACKAGE / "run" / "session.py", "claude_nb.demo", top_level=False) is not None
    assert _crossing(PACKAGE / "loopback" / "server.py", "claude_nb.run.session", False) is not None
    assert _crossing(PACKAGE / "demo" / "backend.py", "claude_nb.loopback.sse", True) is None


# ---------------------------------------------------------------- docs/architecture.md is true

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
"""Read from the repository's docs (beside tests/), not from the installed package."""

ROOT = "claude_nb"
Arrow = tuple[str, str, bool]  # (from, to, lazy)


def _fenced(kind: str, text: str | None = None) -> list[str]:
    """The lines of the doc's first ```kind block."""
    lines = (DOC.read_text(encoding="utf-8") if text is None else text).splitlines()
    start = lines.index(f"```{kind}") + 1
    return lines[start:lines.index("```", start)]


def _arrows(lines: list[str]) -> list[Arrow]:
    """`a -> b` or `a -> b [lazy]` lines; blank lines and `#` comments skipped."""
    out = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        lazy = line.endswith("[lazy]")
        src, arrow, dst = line.removesuffix("[lazy]").split()
        assert arrow == "->", f"not an arrow: {line!r}"
        out.append((src, dst, lazy))
    return out


def _rel(module: str) -> str | None:
    """`claude_nb.render.markdown` -> "render/markdown.py"; a package -> its __init__.py;
    None when no such file is in the package."""
    parts = module.split(".")[1:]
    for rel in ("/".join(parts) + ".py", "/".join([*parts, "__init__.py"])):
        if (PACKAGE / rel).is_file():
            return rel
    return None


def _type_only_lines(path: Path) -> set[int]:
    """Lines of the imports under `if TYPE_CHECKING:` (annotations only, nothing runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {inner.lineno for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
            for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))}


def _dependencies() -> tuple[dict[tuple[str, str], list[bool]], dict[tuple[str, str], list[bool]]]:
    """Every real import, as (sub-package, sub-package) and as (module file, module file)
    pairs, each with the at-module-level flag of every import behind it. `from ..render
    import blocks` counts as importing render/blocks.py (and the render package). Between
    sub-packages every import counts (the layers hold for annotations too); between modules
    a type-only one does not (the tool loop names `Reply` in annotations, session runs it)."""
    groups: dict[tuple[str, str], list[bool]] = {}
    modules: dict[tuple[str, str], list[bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = path.relative_to(PACKAGE).as_posix()
        src_group = _group(_module_name(path)) or ROOT
        type_only = _type_only_lines(path)
        for line, target, top_level, names in _imports(path):
            dst_group = _group(target) or ROOT
            if dst_group != src_group:
                groups.setdefault((src_group, dst_group), []).append(top_level)
            if line in type_only:
                continue
            targets = [_rel(target)] + [_rel(f"{target}.{n}") for n in names]
            for dst in {t for t in targets if t is not None and t != src}:
                modules.setdefault((src, dst), []).append(top_level)
    return groups, modules


def _arrow_problems(arrows: list[Arrow], groups: dict[tuple[str, str], list[bool]],
                    modules: dict[tuple[str, str], list[bool]]) -> list[str]:
    """Where the documented arrows and the real imports disagree."""
    problems = []
    documented = set()
    for src, dst, lazy in arrows:
        real = (modules if src.endswith(".py") else groups).get((src, dst))
        documented.add((src, dst))
        if not real:
            problems.append(f"{src} -> {dst}: documented, but no import")
        elif lazy and any(real):
            problems.append(f"{src} -> {dst}: documented [lazy], imported at module level")
        if src.endswith(".py") and modules.get((dst, src)):
            problems.append(f"{dst} imports {src}, against the documented {src} -> {dst}")
    for (src, dst), flags in sorted(groups.items()):
        if (src, dst) not in documented:
            how = "at module level" if any(flags) else "inside a function"
            problems.append(f"{src} imports {dst} ({how}): not an arrow in the doc")
    return problems


def test_every_arrow_in_the_doc_is_an_import_and_every_import_an_arrow() -> None:
    groups, modules = _dependencies()
    assert _arrow_problems(_arrows(_fenced("arrows")), groups, modules) == []


def test_the_arrow_check_fails_on_a_false_doc() -> None:
    """The checker itself: a made-up arrow, a missing one, a wrong [lazy], a module arrow
    run backwards are each reported."""
    groups, modules = _dependencies()
    arrows = _arrows(_fenced("arrows"))
    real = [a for a in arrows if not a[0].endswith(".py") and not a[2]]
    dropped = real[0]
    lazy_lie = (real[1][0], real[1][1], True)
    false_doc = [a for a in arrows if a not in (dropped, real[1])] + [
        lazy_lie, ("protocol", "render", False),
        ("render/markdown.py", "frontends/presenter.py", False)]
    problems = _arrow_problems(false_doc, groups, modules)
    assert f"{dropped[0]} imports {dropped[1]}" in "\n".join(problems)
    assert f"{lazy_lie[0]} -> {lazy_lie[1]}: documented [lazy], imported at module level" \
        in problems
    assert "protocol -> render: documented, but no import" in problems
    assert ("frontends/presenter.py imports render/markdown.py, against the documented "
            "render/markdown.py -> frontends/presenter.py") in problems


def _tree(lines: list[str]) -> set[str]:
    """The paths in the doc's module tree (two spaces a level; a directory ends in `/`)."""
    paths: set[str] = set()
    stack: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        del stack[depth:]
        stack.append(name.rstrip("/"))
        paths.add("/".join(stack[1:]) + ("/" if name.endswith("/") else ""))
    return paths - {"/"}


def test_the_module_tree_in_the_doc_is_the_package() -> None:
    listed = _tree(_fenced("tree"))
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name != "__init__.py" or p.stat().st_size}  # an empty __init__ holds nothing
    documented = {p for p in listed if p.endswith(".py")}
    assert sorted(modules - documented) == [], "modules missing from docs/architecture.md"
    assert sorted(documented - modules) == [], "docs/architecture.md lists modules that are gone"
    assert [p for p in listed if not (PACKAGE / p).exists()] == []
