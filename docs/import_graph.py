"""The import graph of the project's own code, read from the source (a stdlib ``ast`` walk).

    python docs/import_graph.py            # the app graph, upward imports and circles
    python docs/import_graph.py --write    # also rewrite docs/architecture.md's graph section
    python docs/import_graph.py --check    # exit 1 if that section is out of date

An import inside a function runs when the function is called (marked "lazy"); any other
runs when its module is imported ("eager"). The apps are layered accounts < batches < calls:
a model, service, selector or other non-view module of a lower app never imports a higher
app. The views and API, admin, serializers, URLs, management commands and ``apps.py`` sit
on top of the layers and may. ``tests/test_architecture.py`` holds the rules.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accounts", "batches", "calls", "callcenter", "retell_sim", "bench")
LAYERS = ("accounts", "batches", "calls")  # bottom to top
# Parts of a module's dotted name that put it on top of the layers (it may import upward).
TOP_PARTS = frozenset({"api", "auth_api", "views", "admin", "serializers", "urls", "auth_urls",
                       "export_urls", "management", "apps"})
# The one circle allowed: Celery's publish loop. The tasks module imports the engine (sweep,
# settlement, dispatch); dispatch publishes the task through a lazy import of it.
PUBLISH_EDGE = ("calls.dispatch", "calls.tasks")
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- import-graph -->", "<!-- /import-graph -->"


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module of the project, dotted
    lazy: bool  # inside a function
    line: int


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every project module (migrations left out: they are history)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(tree: ast.AST):
    """(node, lazy) for every import statement; lazy when inside a function."""
    stack = [(tree, False)]
    while stack:
        node, lazy = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, lazy
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            stack.append((child, inner))


def _resolve(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import reads (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def edges(found: dict[str, Path] | None = None) -> list[Edge]:
    found = modules() if found is None else found
    result = []
    for name, path in found.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, lazy in _imports(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                module = _resolve(name, path, node)
                # "from pkg import mod" imports the submodule; "from mod import name" the module.
                subs = [f"{module}.{alias.name}" for alias in node.names]
                targets = [sub for sub in subs if sub in found] or [module]
            for target in targets:
                while target and target not in found:  # "import a.b.c" of a non-module name
                    target = target.rpartition(".")[0]
                if target and target != name:
                    result.append(Edge(name, target, lazy, node.lineno))
    return result


def app(module: str) -> str:
    return module.split(".")[0]


def is_top(module: str) -> bool:
    """Views/API, admin, serializers, URLs, management commands, apps.py: above the layers."""
    return any(part in TOP_PARTS for part in module.split(".")[1:])


def upward(all_edges: list[Edge]) -> list[Edge]:
    """Imports from a lower app into a higher one, whoever makes them."""
    return [
        e for e in all_edges
        if app(e.source) in LAYERS and app(e.target) in LAYERS
        and LAYERS.index(app(e.source)) < LAYERS.index(app(e.target))
    ]


def forbidden_upward(all_edges: list[Edge]) -> list[Edge]:
    """Upward imports made by a module that is part of its app's layer (not a view, admin...)."""
    return [e for e in upward(all_edges) if not is_top(e.source)]


def circles(all_edges: list[Edge]) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), eager and lazy imports alike."""
    graph = defaultdict(set)
    for e in all_edges:
        graph[e.source].add(e.target)
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == current:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def _is_publish_edge(e: Edge) -> bool:
    return (e.source, e.target) == PUBLISH_EDGE and e.lazy


def forbidden_circles(all_edges: list[Edge]) -> list[list[str]]:
    """The circles left once the lazy publish import is taken out: there must be none (an
    eager import of the tasks by dispatch stays, and shows up)."""
    return circles([e for e in all_edges if not _is_publish_edge(e)])


def is_publish_loop(group: list[str], all_edges: list[Edge]) -> bool:
    return set(PUBLISH_EDGE) <= set(group) and group not in forbidden_circles(all_edges)


def app_graph(all_edges: list[Edge]) -> dict[tuple[str, str], dict[str, int]]:
    """(importing app, imported app) -> {"eager": n, "lazy": n} over module imports."""
    graph: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"eager": 0, "lazy": 0})
    for e in all_edges:
        if app(e.source) != app(e.target):
            graph[app(e.source), app(e.target)]["lazy" if e.lazy else "eager"] += 1
    return dict(sorted(graph.items()))


def _label(counts: dict[str, int]) -> str:
    parts = [f"{counts[kind]} {kind}" for kind in ("eager", "lazy") if counts[kind]]
    return ", ".join(parts)


def markdown(all_edges: list[Edge]) -> str:
    """The section of docs/architecture.md: a mermaid picture and the exceptions, in text."""
    ups = upward(all_edges)
    lines = [BEGIN, "", "```mermaid", "flowchart BT"]
    for (source, target), counts in app_graph(all_edges).items():
        arrow = "-->" if counts["eager"] else "-.->"
        label = _label(counts)
        if any(app(e.source) == source and app(e.target) == target for e in ups):
            label += ", views/admin only"
        lines.append(f"    {source} {arrow}|{label}| {target}")
    lines += ["```", ""]
    by_source: dict[str, set[str]] = defaultdict(set)
    for e in ups:
        by_source[e.source].add(f"`{e.target}`" + (" (lazy)" if e.lazy else ""))
    if ups:
        lines += [f"Imports from a lower app into a higher one ({len(ups)}), by importing "
                  "module; a model, service or selector among them fails the test:", ""]
        lines += [f"- `{source}` → {', '.join(sorted(targets))}"
                  for source, targets in sorted(by_source.items())]
    else:
        lines.append("Imports from a lower app into a higher one: none.")
    lines.append("")
    for group in circles(all_edges):
        kind = ("Celery's publish loop, closed by the lazy import in `calls.dispatch`"
                if is_publish_loop(group, all_edges) else "a forbidden circle")
        lines.append(f"Circle ({kind}): " + ", ".join(f"`{m}`" for m in group) + ".")
    lines += ["", END]
    return "\n".join(lines)


def report(all_edges: list[Edge]) -> str:
    out = ["App graph (importing app -> imported app: imports):"]
    for (source, target), counts in app_graph(all_edges).items():
        out.append(f"  {source} -> {target}: {_label(counts)}")
    out.append("Upward imports (lower app -> higher app):")
    for e in sorted(upward(all_edges), key=lambda e: (e.source, e.target)):
        kind = "allowed (view/admin/...)" if is_top(e.source) else "FORBIDDEN"
        lazy = "lazy" if e.lazy else "eager"
        out.append(f"  {e.source}:{e.line} -> {e.target} [{lazy}, {kind}]")
    out.append("Circles:")
    for group in circles(all_edges):
        note = "the publish loop" if is_publish_loop(group, all_edges) else "FORBIDDEN"
        out.append(f"  {' <-> '.join(group)} [{note}]")
    return "\n".join(out)


def rewrite(text: str, section: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + section + text[end:]


def main(argv: list[str]) -> int:
    all_edges = edges()
    print(report(all_edges))
    if "--write" in argv or "--check" in argv:
        current = DOC.read_text()
        wanted = rewrite(current, markdown(all_edges))
        if "--check" in argv:
            if wanted != current:
                print(f"{DOC.relative_to(ROOT)} is out of date: run {' '.join(argv[:1])} --write")
                return 1
        elif wanted != current:
            DOC.write_text(wanted)
            print(f"rewrote {DOC.relative_to(ROOT)}")
    return 1 if forbidden_upward(all_edges) or forbidden_circles(all_edges) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
