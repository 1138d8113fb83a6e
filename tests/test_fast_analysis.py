"""Fast analysis: a light command line, `report` reusing the comparison `compare` wrote,
and `--scenarios` to compare only some of a sweep's policies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_lines_help_imports_no_pandas_numpy_or_matplotlib():
    code = ("import sys; from sim.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    assert done.stdout.strip() == "[]"
