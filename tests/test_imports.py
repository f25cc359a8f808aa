"""How the product's modules import each other: no cycle, and no import hidden in
a function without a comment saying why. (The layers are import-linter's
contracts in pyproject.toml, checked by `make lint`.)"""

import ast
from pathlib import Path

import grimp
from django.conf import settings

APPS = ("supportdesk", "customers", "tickets", "channels_app")


def _cycles(graph) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others
    (strongly connected components of the import graph, Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_of_the_product_imports_itself_back():
    graph = grimp.build_graph(*APPS)

    assert _cycles(graph) == []


def _unexplained_local_imports(path: Path) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = [alias.name for alias in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else names[0]
            if not (module or "").startswith(APPS):
                continue
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if not above.startswith("#"):
                found.append(f"{path}:{node.lineno}")
    return found


def test_an_import_inside_a_function_says_why():
    root = Path(settings.BASE_DIR)
    unexplained = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                unexplained += _unexplained_local_imports(path.relative_to(root))

    assert unexplained == []
