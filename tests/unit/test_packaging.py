"""The package declares what it imports, imports what it declares, and says its version."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from mailbot import __version__
from mailbot.entrypoints.cli import main
from mailbot.shipped import shipped_dir

ROOT = Path(__file__).resolve().parents[2]
# Declared but never imported by name: what the code reaches another way, and why.
USED_INDIRECTLY = {
    "psycopg": "SQLAlchemy loads it for postgresql+psycopg:// URLs",
}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_normal(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in (ROOT / "mailbot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mailbot", "__future__"}


def _imported_distributions() -> set[str]:
    owners = metadata.packages_distributions()
    return {_normal(owners[module][0]) for module in _imported_top_level_modules()}


def test_every_module_the_code_imports_is_a_declared_dependency():
    missing = _imported_distributions() - _declared()
    assert not missing, f"imported but not in pyproject.toml's dependencies: {sorted(missing)}"


def test_every_declared_dependency_is_used():
    unused = _declared() - _imported_distributions() - set(USED_INDIRECTLY)
    assert not unused, f"declared in pyproject.toml but never imported: {sorted(unused)}"


def test_mailbot_says_its_version(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capsys.readouterr().out.strip() == f"mailbot {__version__}"


def test_the_shipped_data_is_found_from_a_checkout():
    for kind, example in (("policies", "bury.toml"), ("templates", "acknowledgement.txt"),
                          ("forms", "bury.docx")):
        assert (shipped_dir(kind) / example).is_file(), kind
