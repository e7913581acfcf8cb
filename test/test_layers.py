"""The package has no import cycle (.ci/import_graph.py), and that check finds one when it is there.

import-linter's layers contract (CI's `lint-imports`) keeps the stages pointing one way; within a
stage's folder it says nothing, so the graph of every module, lazy imports included, is checked here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / ".ci" / "import_graph.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_cycle():
    graph = _graph_module()
    edges = graph.graph()
    assert "processor.records" in edges
    assert "processor.load.worker" in edges
    assert graph.cycles(edges) == []


def test_records_import_no_stage():
    edges = _graph_module().graph()
    assert edges["processor.records"] <= {"processor", "processor.kinds"}


def test_a_cycle_through_a_lazy_import_and_a_package_init_is_found(tmp_path):
    package = tmp_path / "processor"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stage" / "__init__.py").write_text("from processor.stage.inner import VALUE\n")
    (package / "stage" / "inner.py").write_text("VALUE = 1\n")
    (package / "leaf.py").write_text("def late():\n    from processor.stage import inner\n    return inner\n")
    (package / "other.py").write_text("from . import leaf\n")
    graph = _graph_module()
    edges = graph.graph(tmp_path)
    assert graph.cycles(edges) == []
    # The package's __init__ runs before any of its modules: importing stage.inner from leaf's
    # function closes a cycle once stage's __init__ imports leaf.
    init = package / "stage" / "__init__.py"
    init.write_text("import processor.leaf\n" + init.read_text())
    assert graph.cycles(graph.graph(tmp_path)) == [["processor.leaf", "processor.stage"]]
