"""The shape of the project, kept: imports go downwards only, classes stay small, packages install.

docs/architecture.md draws the graph these tests hold the code to.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("chatbot", "rebuild", "search", "worker", "collect", "gallery", "durable", "settings")
SCRIPTS = {p.stem for p in ROOT.glob("*.py")}
MAX_CLASS_LINES = 200


def modules(packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, name: str) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{alias.name}" for alias in node.names}
    return out


def graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    mods = modules(packages)
    edges = {}
    for name, path in mods.items():
        targets = set()
        for target in imports(path, name):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_packages_or_within_one():
    edges = graph(PRODUCT)
    packages = {}
    for source, targets in edges.items():
        for target in targets:
            a, b = source.split(".")[0], target.split(".")[0]
            if a != b:
                packages.setdefault(a, set()).add(b)
    assert cycles(packages) == []
    for package in PRODUCT:
        inside = {m: {t for t in ts if t.split(".")[0] == package} for m, ts in edges.items()
                  if m.split(".")[0] == package}
        assert cycles(inside) == [], package


def test_the_cycle_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_chatbot_layers_import_only_downwards():
    """ui -> flow -> delivery; the journal (durability) never imports the UI."""
    order = ["chatbot.ui", "chatbot.flow", "chatbot.delivery"]

    def layer(module: str) -> int | None:
        return next((i for i, top in enumerate(order) if module == top or module.startswith(top + ".")), None)

    upward = [(source, target) for source, targets in graph(("chatbot",)).items() for target in targets
              if layer(source) is not None and layer(target) is not None and layer(target) < layer(source)]
    assert upward == []


def test_no_module_imports_a_root_script_and_bench_and_tests_stay_apart():
    """What bench/ and tests/ share is in testkit/, which imports neither. (Tests of a benchmark's
    own maths, tests/bench/, import the benchmark they test, as every test imports its subject.)"""
    roots = {"bench": ("tests",), "testkit": ("tests", "bench")}
    for name, path in modules(PRODUCT + ("bench", "testkit", "tests")).items():
        targets = {t.split(".")[0] for t in imports(path, name)}
        assert not targets & SCRIPTS, f"{name} imports a root script: {targets & SCRIPTS}"
        for forbidden in roots.get(name.split(".")[0], ()):
            assert forbidden not in targets, f"{name} imports {forbidden}"


def test_no_product_class_is_over_200_lines():
    big = []
    for name, path in modules(PRODUCT).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                big.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert big == []


def test_the_packages_import_from_outside_the_checkout(tmp_path):
    code = f"import {', '.join(PRODUCT)}; import chatbot.app, rebuild, testkit; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
