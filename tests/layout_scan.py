"""Reads the source tree as text (``ast``) and measures its layout.

Used by ``tests/test_layout.py`` (the import rule, the length of functions) and run on
its own to print the figures quoted in notes::

    python tests/layout_scan.py            # functions over 50 lines, the longest, classes, imports

Nothing here imports the package: the files are parsed, not run.
"""

import ast
import sys
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "centroids"

#: The data flow, left to right: a package may import its own rank or a lower one,
#: never a higher one. Rank 0 is the foundation every layer may use.
RANKS = {
    "__version__": 0,  # ``from .. import __version__``: metadata, not a layer
    "errors": 0,
    "settings": 0,
    "_utils": 0,
    "_kernels": 0,
    "data": 1,  # read -> prepare
    "engine": 2,
    "models": 3,
    "vq": 3,
    "stream": 3,
    "export": 3,  # fitted models written as ONNX: beside the estimators (their to_onnx)
    "evaluate": 4,
    "segments": 5,
    "store": 5,
    "report": 5,
    "serve": 5,
    "apps": 5,
    "datasets": 5,
    "cli": 6,
    "warmup": 6,  # `centroids warmup`: runs fits and the segment job to fill numba's cache
    "__main__": 6,
    "__init__": 6,
}


def source_files():
    """Every ``.py`` file under ``src/centroids``, sorted."""
    return sorted(SRC.rglob("*.py"))


def package_of(path):
    """The top-level part of ``centroids`` a file belongs to (``engine``, ``cli``...)."""
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def functions(path, code_only=False):
    """``(qualified name, first line, number of lines)`` of each function in a file.

    ``code_only`` leaves the docstring's lines out of the count.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1
                if code_only and ast.get_docstring(child) is not None:
                    doc = child.body[0]
                    length -= doc.end_lineno - doc.lineno + 1
                found.append((name, child.lineno, length))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def classes(path):
    """``(name, number of lines)`` of each top-level class in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    ]


def imported_packages(path):
    """``(package imported, line)`` for each import of another part of ``centroids``.

    Relative and absolute imports both count, at any depth (an import inside a function
    is still a dependency).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(SRC).with_suffix("").parts
    here = list(rel[:-1])  # the package a file sits in (its own, for __init__)
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else list(here)
                module = base + (node.module.split(".") if node.module else [])
                if node.module:
                    targets.append(module)
                else:
                    targets.extend([*module, alias.name] for alias in node.names)
            elif node.module and node.module.split(".")[0] == "centroids":
                targets.append(node.module.split(".")[1:])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "centroids":
                    targets.append(parts[1:])
        for target in targets:
            if target:
                found.append((target[0], node.lineno))
    return found


def long_functions(limit=50, code_only=False):
    """Functions longer than ``limit`` lines: ``(lines, "file:line name")``, longest first."""
    rows = []
    for path in source_files():
        for name, line, length in functions(path, code_only):
            if length > limit:
                rows.append((length, f"{path.relative_to(SRC.parent)}:{line} {name}"))
    return sorted(rows, reverse=True)


def largest_classes(count=5):
    """The ``count`` longest classes: ``(lines, "file name")``."""
    rows = [
        (length, f"{path.relative_to(SRC.parent)} {name}")
        for path in source_files()
        for name, length in classes(path)
    ]
    return sorted(rows, reverse=True)[:count]


def import_graph():
    """``Counter`` of ``(importing package, imported package)`` across packages."""
    edges = Counter()
    for path in source_files():
        source = package_of(path)
        for target, _line in imported_packages(path):
            if target != source:
                edges[source, target] += 1
    return edges


def rightward_imports():
    """Imports that go against the data flow: ``"file:line a -> b"`` for each."""
    wrong = []
    for path in source_files():
        source = package_of(path)
        for target, line in imported_packages(path):
            if target in RANKS and RANKS[target] > RANKS.get(source, 6):
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} {source} -> {target}")
    return wrong


def main(argv):
    limit = int(argv[1]) if len(argv) > 1 else 50
    rows = long_functions(limit)
    print(f"functions over {limit} lines: {len(rows)}")
    print(f"functions over 80 lines: {len(long_functions(80))}")
    code = long_functions(limit, code_only=True)
    print(f"functions over {limit} lines without their docstring: {len(code)}")
    print(f"functions over 80 lines without their docstring: {len(long_functions(80, True))}")
    for length, where in code[:10]:
        print(f"  {length:4d}  {where} (without docstring)")
    for length, where in rows[:10]:
        print(f"  {length:4d}  {where}")
    print("largest classes:")
    for length, where in largest_classes():
        print(f"  {length:4d}  {where}")
    print("import graph (a -> b: imports):")
    for (source, target), count in sorted(import_graph().items()):
        mark = "  AGAINST THE FLOW" if RANKS.get(target, 0) > RANKS.get(source, 6) else ""
        print(f"  {source} -> {target} ({count}){mark}")
    wrong = rightward_imports()
    print(f"imports against the data flow: {len(wrong)}")
    for row in wrong:
        print(f"  {row}")


if __name__ == "__main__":
    main(sys.argv)
