"""Every gallery script runs headless as a plain script and draws its figure.

Each ``examples/plot_*.py`` runs in a subprocess with ``MPLBACKEND=Agg``, warnings
as errors and a temporary working directory (run as a script, an example saves
its figure there as PNG, so nothing lands in the repository).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))


def test_the_gallery_is_there() -> None:
    names = {p.name for p in SCRIPTS}
    for name in (
        "plot_cross_entropy_identity.py",
        "plot_softmax_temperature.py",
        "plot_boltzmann.py",
        "plot_categorical_fit.py",
        "plot_accuracy.py",
    ):
        assert name in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_headless(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {"MPLBACKEND": "Agg"}
    start = time.perf_counter()
    r = subprocess.run(  # noqa: S603 - our own interpreter running our own example
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr == "", r.stderr[-3000:]  # no warnings either
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, f"{script.name} saved no figure in its working directory"
    assert all(p.stat().st_size > 10_000 for p in pngs)
    assert elapsed < 60, f"{script.name} took {elapsed:.1f} s; examples should take seconds"
