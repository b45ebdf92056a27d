"""Fail when a function and its layers exceed Lambda's 250 MB unzipped limit (after sam build)."""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 250 * 1024 * 1024
BUILD = Path(".aws-sam/build")


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


layers = {p.name: size(p) for p in BUILD.iterdir() if p.is_dir() and p.name.endswith("Layer")}
layer_total = sum(layers.values())
worst = 0
for function in sorted(p for p in BUILD.iterdir() if p.is_dir() and p.name.endswith("Function")):
    total = size(function) + layer_total
    worst = max(worst, total)
    print(
        f"{function.name:<24} {size(function) / 1e6:8.2f} MB + layers {layer_total / 1e6:7.1f} MB"
        f" = {total / 1e6:7.1f} MB unzipped"
    )
if worst > LIMIT:
    sys.exit(f"over Lambda's 250 MB unzipped limit: {worst / 1e6:.1f} MB")
