"""The apps stay layered (accounts < batches < calls) with no circle but Celery's publish loop;
read from the source by ``docs/import_graph.py``."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "import_graph.py"


@pytest.fixture(scope="module")
def graph():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def edges(graph):
    return graph.edges()


def test_no_model_service_or_selector_imports_a_higher_app(graph, edges):
    assert [f"{e.source}:{e.line} -> {e.target}" for e in graph.forbidden_upward(edges)] == []


def test_no_circle_but_the_lazy_publish_loop(graph, edges):
    assert graph.forbidden_circles(edges) == []
    publish = [e for e in edges if (e.source, e.target) == graph.PUBLISH_EDGE]
    assert publish and all(e.lazy for e in publish)


def test_the_simulator_shares_no_import_with_the_product(graph, edges):
    product = {"accounts", "batches", "calls", "callcenter"}
    assert [e for e in edges if graph.app(e.source) == "retell_sim"
            and graph.app(e.target) in product] == []


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_upward_imports_and_circles(graph, tmp_path):
    write(tmp_path, {
        "accounts/__init__.py": "",
        "accounts/models.py": "from calls.models import Attempt\n",
        "accounts/admin.py": "from calls import selectors\n",
        "batches/__init__.py": "",
        "batches/services/__init__.py": "from .create import make\n",
        "batches/services/create.py": "def make():\n    from calls import tasks\n",
        "calls/__init__.py": "",
        "calls/models.py": "from accounts.models import Account\n",
        "calls/selectors.py": "",
        "calls/tasks.py": "from batches.services import make\n",
    })
    edges = graph.edges(graph.modules(tmp_path))
    found = {(e.source, e.target, e.lazy) for e in graph.forbidden_upward(edges)}
    assert found == {("accounts.models", "calls.models", False),
                     ("batches.services.create", "calls.tasks", True)}
    assert graph.forbidden_circles(edges) == [
        ["accounts.models", "calls.models"],
        ["batches.services", "batches.services.create", "calls.tasks"],
    ]


def test_the_picture_in_docs_architecture_is_current(graph, edges):
    """docs/architecture.md shows the graph of today's code: rerun
    ``python docs/import_graph.py --write`` after moving an import."""
    current = graph.DOC.read_text()
    assert graph.rewrite(current, graph.markdown(edges)) == current
