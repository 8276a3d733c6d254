"""The import graph runs one way: handlers -> services -> storage, with the core below services."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "bot" / "core"
ABOVE_CORE = ("bot.services", "bot.channels", "bot.web", "handlers")


def _above(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in ABOVE_CORE)


def _imported(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(module, local name) pairs an import statement binds."""
    if isinstance(node, ast.Import):
        return [(a.name, (a.asname or a.name).split(".")[0]) for a in node.names]
    base = "." * node.level + (node.module or "")  # "from bot import services" counts too
    return [(f"{base}.{a.name}", a.asname or a.name) for a in node.names]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _violations(path: Path) -> list[str]:
    """Run-time imports from above the core, and type-only ones used outside a Protocol."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    found: list[str] = []
    type_only: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append(f"{path.name}:{node.lineno} relative import")
            continue
        guarded = False
        up = parents.get(node)
        while up is not None:
            if isinstance(up, ast.If) and _is_type_checking(up):
                guarded = True
            up = parents.get(up)
        for module, name in _imported(node):
            if not _above(module):
                continue
            if guarded:
                type_only[name] = module
            else:
                found.append(f"{path.name}:{node.lineno} imports {module} at run time")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in type_only:
            up = parents.get(node)
            while up is not None and not isinstance(up, ast.ClassDef):
                up = parents.get(up)
            bases = [ast.unparse(b) for b in up.bases] if isinstance(up, ast.ClassDef) else []
            if not any(b.split(".")[-1] == "Protocol" for b in bases):
                found.append(f"{path.name}:{node.lineno} uses {node.id} outside a Protocol")
    return found


def test_core_never_imports_the_layers_above_it() -> None:
    found = [v for path in sorted(CORE.rglob("*.py")) for v in _violations(path)]
    assert found == []


def test_the_checker_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING, Protocol\n"
        "import handlers.menu\n"
        "from bot.web import chat\n"
        "from bot import services\n"
        "if TYPE_CHECKING:\n"
        "    from bot.services.users import UserRepo\n"
        "    from bot.channels.telegram import TelegramChannel\n"
        "class Port(Protocol):\n"
        "    users: UserRepo\n"
        "def use(x: TelegramChannel) -> None: ...\n",
        encoding="utf-8",
    )
    assert _violations(bad) == [
        "bad.py:2 imports handlers.menu at run time",
        "bad.py:3 imports bot.web.chat at run time",
        "bad.py:4 imports bot.services at run time",
        "bad.py:10 uses TelegramChannel outside a Protocol",
    ]


def test_importing_the_core_loads_nothing_above_it() -> None:
    modules = [f"bot.core.{p.stem}" for p in sorted(CORE.glob("*.py")) if p.stem != "__init__"]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({ABOVE_CORE!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
