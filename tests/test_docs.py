"""The documentation keeps up with the code: docs/ODD.md and README.md."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

from sim import rules
from sim.outputs import AREA_COLUMNS, TIMESERIES_COLUMNS
from sim.params import PARAMETERS
from sim.policies import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
README = ROOT / "README.md"
TOOL = ROOT / "tools" / "odd_params.py"


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) is not None


def _public_rules() -> list[str]:
    return [name for name, fn in inspect.getmembers(rules, inspect.isfunction)
            if fn.__module__ == rules.__name__ and not name.startswith("_")]


def _prose(text: str) -> str:
    """ODD.md without its generated parameter tables."""
    start, end = text.index("<!-- params:start -->"), text.index("<!-- params:end -->")
    return text[:start] + text[end:]


def test_every_parameter_is_named_in_the_odd():
    text = ODD.read_text(encoding="utf-8")
    missing = [p.name for p in PARAMETERS if not _mentions(text, p.name)]
    assert not missing, f"parameters missing from docs/ODD.md: {missing}"


def test_generated_parameter_table_is_up_to_date():
    proc = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, (
        f"docs/ODD.md's parameter tables are out of date; run: python tools/odd_params.py\n"
        f"{proc.stderr}")


def test_every_parameter_is_sourced_or_an_assumption():
    sys.path.insert(0, str(TOOL.parent))
    try:
        import odd_params
    finally:
        sys.path.remove(str(TOOL.parent))
    unclassified = [p.name for p in PARAMETERS if odd_params.basis(p) == "?"]
    assert not unclassified, f"sources that name no source and are no assumption: {unclassified}"


def test_every_public_rule_is_described_in_the_odd():
    text = ODD.read_text(encoding="utf-8")
    missing = [name for name in _public_rules() if not _mentions(text, name)]
    assert not missing, f"rules of sim/rules.py missing from docs/ODD.md: {missing}"


def test_every_output_column_is_defined_in_the_odd():
    prose = _prose(ODD.read_text(encoding="utf-8"))
    missing = [c for c in TIMESERIES_COLUMNS + AREA_COLUMNS if f"`{c}`" not in prose]
    assert not missing, f"output columns missing from docs/ODD.md: {missing}"


def test_readme_opens_with_the_two_commands():
    first_lines = "\n".join(README.read_text(encoding="utf-8").splitlines()[:10])
    assert "make demo" in first_lines
    assert "make test" in first_lines


def test_readme_shows_every_policy_key():
    text = README.read_text(encoding="utf-8")
    missing = [f"{block}.{key}" for block, keys in REGISTRY.parameters().items()
               for key in ("enabled", *keys) if not re.search(rf"^\s+{key}:", text, re.M)]
    assert not missing, f"policy keys missing from README.md's scenario example: {missing}"
