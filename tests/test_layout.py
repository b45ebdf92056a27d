"""The layout: the layer ships only what Lambda imports, the two sides import one way only.

The layer is layers/seslake: its `seslake` package and the packages of its requirements.txt
(with boto3, which the Lambda runtime provides). Each test runs Python isolated from this
environment (`-I -S`: the standard library only) with exactly those packages on its path, as
Lambda would have them.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "seslake"
CORE = LAYER / "seslake"
CLI = ROOT / "layers" / "cli" / "seslake_cli"
FUNCTIONS = sorted(p.parent for p in (ROOT / "functions").glob("*/app.py"))
#: What the Lambda Python runtime has besides the standard library.
RUNTIME = ("boto3",)


def _requirement_names(lines: list[str]) -> list[str]:
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[\s<>=!~\[;]", line, maxsplit=1)[0])
    return names


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` need, transitively (extras and markers that do not apply to
    this interpreter left out)."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for requirement in metadata.requires(name) or []:
            requirement_name, _, marker = requirement.partition(";")
            if "extra" in marker:
                continue
            if marker.strip() and not _marker_holds(marker):
                continue
            pending.append(_requirement_names([requirement_name])[0])
    return seen


def _marker_holds(marker: str) -> bool:
    from packaging.markers import Marker

    return bool(Marker(marker.strip()).evaluate())


def _top_level(distribution: str) -> set[Path]:
    """The files and folders a distribution put at the top of site-packages."""
    dist = metadata.distribution(distribution)
    tops = set()
    for file in dist.files or []:
        first = Path(file).parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__", "bin"):
            continue
        tops.add(Path(str(dist.locate_file(first))))
    return tops


@pytest.fixture(scope="module")
def layer_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the layer's third-party packages (linked from this
    environment)."""
    requirements = (LAYER / "requirements.txt").read_text().splitlines()
    folder = tmp_path_factory.mktemp("layer-python")
    for distribution in _closure([*_requirement_names(requirements), *RUNTIME]):
        for top in _top_level(distribution):
            if top.exists() and not (folder / top.name).exists():
                (folder / top.name).symlink_to(top)
    return folder


def _run_isolated(code: str, path: list[Path]) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys\nsys.path[:0] = {[str(p) for p in path]!r}\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "tests",  # not the checkout's root: nothing importable by accident
    )


def core_modules() -> list[str]:
    return sorted(
        "seslake." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p.name != "__init__.py"
    )


def test_every_layer_module_imports_with_only_the_layers_requirements(layer_path: Path) -> None:
    code = (
        "import importlib, json\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('duckdb', 'sqlglot', 'awswrangler', 'pandas', 'moto', 'yaml', 'tqdm', 'seslake_cli'))))"
    )
    done = _run_isolated(code, [layer_path, LAYER])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []  # nothing of the laptop side came along
    # and the isolation holds: what is not in the layer cannot be imported there
    for missing in ("duckdb", "seslake_cli.commands"):
        refused = _run_isolated(f"import {missing}", [layer_path, LAYER])
        assert "ModuleNotFoundError" in refused.stderr


def test_the_layer_holds_only_what_the_functions_import(layer_path: Path) -> None:
    """Every function's handler, imported as Lambda does (its folder first, then the layer),
    and together they need every module the layer ships: nothing in it is dead weight."""
    code = (
        "import importlib.util, json\n"
        f"for folder in {[str(f) for f in FUNCTIONS]!r}:\n"
        "    spec = importlib.util.spec_from_file_location('app_' + folder[-12:], "
        "folder + '/app.py')\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('seslake.'))))"
    )
    done = _run_isolated(code, [layer_path, LAYER])
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(done.stdout))
    assert set(core_modules()) - imported == set()


def test_the_laptop_side_is_not_in_the_layer_and_the_core_never_imports_it() -> None:
    assert not (LAYER / "seslake_cli").exists()
    assert not list(LAYER.glob("*.egg-info"))  # setuptools metadata would ship in the layer
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [*names, module or ""]:
                    assert not name.startswith("seslake_cli"), f"{path} imports {name}"


def _imports_of(path: Path, package: str) -> set[str]:
    """The modules of `package` a module imports (relative imports resolved)."""
    module_parts = path.relative_to(path.parents[len(path.relative_to(CORE).parts) - 1])
    here = [package, *module_parts.with_suffix("").parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                name = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                name = node.module or ""
            if name.startswith(package + "."):
                found.add(name)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(package + ".")}
    return found


def test_no_import_circle_in_the_core() -> None:
    graph = {
        "seslake." + ".".join(p.relative_to(CORE).with_suffix("").parts): _imports_of(p, "seslake")
        for p in CORE.rglob("*.py")
        if p.name != "__init__.py"
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in visiting:
            cycle = visiting[visiting.index(module) :] + [module]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if module in done or module not in graph:
            return
        visiting.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
