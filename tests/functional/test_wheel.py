"""The package as a user installs it: `pip wheel .`, a fresh virtual environment, `pip install`
of the wheel, then `seslake demo` and `seslake query` run from a folder outside the checkout.

The wheel must carry what the checkout provides by path: the view SQL (athena/views), and
what the local stack is made of (template.yaml, functions/, events/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    environment["PATH"] = os.pathsep.join(
        p for p in environment.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."], ROOT)
    (built,) = out.glob("seslake-*.whl")
    return built


def test_the_wheel_carries_the_views_and_the_stack(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    views = {p.name for p in (ROOT / "athena" / "views").glob("*.sql")}
    assert {n.rsplit("/", 1)[-1] for n in names if n.startswith("seslake/sql/views/")} == views
    assert "seslake_cli/data/template.yaml" in names
    functions = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    packaged = {n.split("/")[3] for n in names if n.startswith("seslake_cli/data/functions/")}
    assert packaged == functions
    assert "seslake_cli/data/events/ses/publishing/send.json" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_an_installed_wheel_runs_the_demo_and_answers_queries(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = sys.executable
    run([python, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, f"{wheel}[local]"], tmp_path)
    seslake = str(venv / "bin" / "seslake")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing found by a relative path
    elsewhere.mkdir()
    demo = run(
        [seslake, "demo", "--messages", "300", "--out", "out", "--keep", "--no-progress"],
        elsewhere,
    )
    checked = re.search(r"Self-check: (\d+) of (\d+) counts match", demo.stdout)
    assert checked is not None and checked.group(1) == checked.group(2), demo.stdout[-3000:]
    answer = run(
        [seslake, "query", "summary_by_region", "--lake", "out/lake", "--format", "csv"],
        elsewhere,
    )
    header, *rows = answer.stdout.splitlines()
    assert header.startswith("region,requested,sent,") and rows
    assert sum(int(row.split(",")[2]) for row in rows) > 0
