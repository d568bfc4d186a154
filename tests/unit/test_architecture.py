"""The layers of docs/architecture.md, enforced on every import of every module (also
imports inside functions): the core imports no Airflow and no AWS, adapters import no
task or CLI module, and only aws/clients.py reaches Airflow's provider hooks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = ROOT / "plugins" / "edgesense"
AIRFLOW_GLUE = {"edgesense.compat", "edgesense.dag_helpers"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (TYPE_CHECKING blocks excepted: types only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> str:
    if name in AIRFLOW_GLUE:
        return "airflow-glue"
    for prefix in ("edgesense.aws", "edgesense.tasks", "edgesense.cli"):
        if name == prefix or name.startswith(prefix + "."):
            return prefix.rsplit(".", 1)[1]
    return "core"


def forbidden(name: str) -> tuple[str, ...]:
    """Import prefixes a module of this layer may not use."""
    return {
        "core": ("airflow", "boto3", "botocore", "edgesense.aws", "edgesense.tasks", "edgesense.cli",
                 *AIRFLOW_GLUE),
        "aws": ("edgesense.tasks", "edgesense.cli", *AIRFLOW_GLUE)
        + (() if name == "edgesense.aws.clients" else ("airflow",)),
        "tasks": ("airflow", "edgesense.cli", *AIRFLOW_GLUE),
        "cli": ("airflow", "edgesense.tasks", *AIRFLOW_GLUE),
        "airflow-glue": ("edgesense.aws", "edgesense.cli", "boto3"),
    }[layer(name)]  # fmt: skip


def test_every_module_of_the_package_has_a_layer_and_the_core_is_most_of_it():
    layers = {layer(n) for n in MODULES}
    assert layers == {"core", "aws", "tasks", "cli", "airflow-glue"}
    assert layer("edgesense.plan") == "core"
    assert layer("edgesense.aws.clients") == "aws"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_what_its_layer_may(name):
    bad = sorted(
        m for m in imports(MODULES[name]) for f in forbidden(name) if m == f or m.startswith(f + ".")
    )
    assert not bad, f"{name} ({layer(name)}) imports {', '.join(bad)}"


def test_the_rules_catch_a_forbidden_import(tmp_path):
    """The check itself: a core module importing boto3 inside a function is found."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    import boto3.session\n")
    assert any(m.startswith("boto3") for m in imports(f))
    assert "boto3" in forbidden("edgesense.formats")
