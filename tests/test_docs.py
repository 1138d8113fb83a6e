"""The documentation keeps up with the code: docs/ODD.md and README.md."""

import inspect
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim import rules
from sim.events import EVENT_COLUMNS
from sim.outputs import AREA_COLUMNS, ESTATE_COLUMNS, FIRM_COLUMNS, TIMESERIES_COLUMNS
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
    columns = TIMESERIES_COLUMNS + AREA_COLUMNS + ESTATE_COLUMNS + EVENT_COLUMNS + FIRM_COLUMNS
    missing = [c for c in columns if f"`{c}`" not in prose]
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


DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE = re.compile(r"MODEL\.md|FACTS\.md|DOMAIN\.md|STYLE\.md|seeds/|\.\./shared|\bshared/")
MACHINE_PATH = re.compile(r"(?<![\w.])(?:/(?:tmp|home|work|Users|root|mnt|var|opt|srv)/|[A-Z]:\\)")
SOURCES = ROOT / "docs" / "SOURCES.md"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_refer_to_nothing_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    outside = sorted(set(OUTSIDE.findall(text)))
    assert not outside, f"{doc.name} refers to files outside the repository: {outside}"
    machine = sorted(set(MACHINE_PATH.findall(text)))
    assert not machine, f"{doc.name} quotes a path of one machine: {machine}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_in_the_docs_resolves(doc):
    text = doc.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [link for link in links if not link.startswith(("http://", "https://", "mailto:"))
               and not (doc.parent / link).exists()]
    assert not missing, f"{doc.name} links to files that are not in the repository: {missing}"


def test_every_source_that_names_sources_md_names_one_of_its_sections():
    headings = set(re.findall(r"^#{2,3} (.+)$", SOURCES.read_text(encoding="utf-8"), re.M))
    cited = {p.name: m.group(1) for p in PARAMETERS
             if (m := re.search(r"SOURCES\.md ([A-Z][\w' ]*?):", p.source))}
    assert cited, "no parameter cites docs/SOURCES.md"
    unknown = {name: section for name, section in cited.items() if section not in headings}
    assert not unknown, f"parameter sources naming no section of docs/SOURCES.md: {unknown}"


def test_the_calibration_targets_are_facts_stated_in_sources_md():
    spec = yaml.safe_load((ROOT / "scenarios" / "calibration" / "ouyang_road.yaml").read_text())
    numbers = SOURCES.read_text(encoding="utf-8").split("### Numbers", 1)[1].split("###", 1)[0]
    for target in ("areas", "areas_lt200", "areas_lt100", "firms_eliminated"):
        value = spec["targets"][target]["value"]
        assert re.search(rf"\| {value} \|", numbers), f"target {target} = {value} not in SOURCES.md"


def _spec_blocks() -> dict[str, dict]:
    """SWEEPS.md's first YAML example under each '## The ... file' heading, parsed."""
    text = (ROOT / "docs" / "SWEEPS.md").read_text(encoding="utf-8")
    blocks = {}
    for heading, body in re.findall(r"^## The (\w+) file\n(.*?)(?=^## |\Z)", text, re.M | re.S):
        yaml_block = re.search(r"```yaml\n(.*?)```", body, re.S)
        if yaml_block:
            blocks[heading] = yaml.safe_load(yaml_block.group(1))
    return blocks


def test_sweeps_md_documents_every_key_of_every_spec_format():
    from analysis.sensitivity import SensitivitySpec
    from sim.calibration import CalibrationSpec
    from sim.experiments.sweep import SweepSpec
    from sim.scenario import ScenarioSpec

    blocks = _spec_blocks()
    assert set(blocks) == {"scenario", "sweep", "sensitivity", "calibration"}
    # README shows every scenario key; `policy` is added to the schema from the policy registry
    assert set(blocks["scenario"]) <= set(ScenarioSpec.model_fields) | {"policy"}
    for name, model in (("sweep", SweepSpec), ("sensitivity", SensitivitySpec),
                        ("calibration", CalibrationSpec)):
        assert set(blocks[name]) == set(model.model_fields), f"docs/SWEEPS.md, the {name} file"


def _readme_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


README_SKIPPED = {"demo": "150 ten-year runs; `make demo` is its own check"}
"""README commands the test does not run, and why."""


def _readme_commands() -> list[list[str]]:
    commands = []
    for block in _readme_blocks("sh"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("estate-sim "):
                commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.slow
def test_the_readmes_commands_run_on_its_own_examples(tmp_path, cli):
    """Every `estate-sim` command in README.md's shell blocks, in order, from a folder holding the
    README's scenario, CSV and sweep examples (runs of the shipped scenarios cut to one year)."""
    yaml_blocks = [yaml.safe_load(b) for b in _readme_blocks("yaml")]
    scenario = next(b for b in yaml_blocks if b.get("name") == "my_district_integrated")
    sweep = next(b for b in yaml_blocks if "scenarios" in b)
    (tmp_path / "my_scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    (tmp_path / "my_sweep.yaml").write_text(yaml.safe_dump(sweep), encoding="utf-8")
    (tmp_path / "my_estates.csv").write_text(_readme_blocks("csv")[0], encoding="utf-8")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    commands = _readme_commands()
    assert {c[0] for c in commands} >= {"run", "validate", "sweep", "compare", "report"}
    for command in commands:
        if command[0] in README_SKIPPED:
            continue
        if command[0] == "run" and "--years" not in command:
            command = [*command, "--years", "1"]  # the shipped scenarios run ten years
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 0, f"estate-sim {' '.join(command)}: {done.stderr}"
    assert (tmp_path / "out" / "my-report" / "report.html").is_file()
    assert "my_estates" in (tmp_path / "out" / "my-report" / "report.html").read_text(encoding="utf-8")
    assert sorted({c[0] for c in commands if c[0] in README_SKIPPED}) == sorted(README_SKIPPED)


def test_every_event_kind_is_defined_in_the_odd():
    kinds = set(re.findall(r'Event\(\s*\w+,\s*"(\w+)"', (ROOT / "sim" / "events.py").read_text()))
    assert kinds, "no event kinds found in sim/events.py"
    prose = _prose(ODD.read_text(encoding="utf-8"))
    missing = sorted(k for k in kinds if f"`{k}`" not in prose)
    assert not missing, f"event kinds missing from docs/ODD.md, section 8: {missing}"
