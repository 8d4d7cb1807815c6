"""The product's core (foundation/, weaklabel/, transfer/) never imports the evaluation package."""
from __future__ import annotations

import ast

import pytest

from .conftest import REPO_ROOT

CORE_PACKAGES = ("foundation", "weaklabel", "transfer")
FORBIDDEN = "evaluation"


def _is_forbidden(module: str | None) -> bool:
    return module is not None and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def evaluation_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` for every import of :data:`FORBIDDEN` in ``source``: ``import``/``from`` statements
    (at any depth), ``importlib.import_module``/``__import__`` of a constant name, and the lazy-export tables'
    module names (a dict value ``"evaluation.x"``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if _is_forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_forbidden(node.module):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and _is_forbidden(node.args[0].value):
                found.append((node.lineno, node.args[0].value))
        elif isinstance(node, ast.Dict):
            found += [(value.lineno, value.value) for value in node.values
                      if isinstance(value, ast.Constant) and isinstance(value.value, str)
                      and _is_forbidden(value.value)]
    return sorted(found)


def core_modules() -> list[str]:
    return sorted(path.relative_to(REPO_ROOT).as_posix() for package in CORE_PACKAGES
                  for path in (REPO_ROOT / package).rglob("*.py"))


def test_the_core_is_found():
    modules = core_modules()
    assert "weaklabel/build.py" in modules or "weaklabel/build/__init__.py" in modules
    assert {"foundation/config/__init__.py", "transfer/training.py", "weaklabel/logmel.py"} <= set(modules)


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_the_core_does_not_import_evaluation(package):
    offenders = [f"{module}:{line}: {name}" for module in core_modules() if module.startswith(package + "/")
                 for line, name in evaluation_imports((REPO_ROOT / module).read_text(encoding="utf-8"))]
    assert not offenders, "the product's core imports the evaluation package:\n" + "\n".join(offenders)


def test_the_import_check_finds_every_form():
    source = ("import evaluation\n"
              "def f():\n    from evaluation.acted import evaluate_acted\n"
              "import importlib\nimportlib.import_module('evaluation.weak_benchmark')\n"
              "_EXPORTS = {'evaluate_acted': 'evaluation.acted'}\n"
              "import evaluations_other, transfer.evaluation\nfrom transfer import evaluation\n"
              "'''evaluation.acted in a docstring'''\n")
    assert evaluation_imports(source) == [(1, "evaluation"), (3, "evaluation.acted"),
                                          (5, "evaluation.weak_benchmark"), (6, "evaluation.acted")]
