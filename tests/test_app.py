"""The teaching app without a browser: its model, pictures, page, server command and CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.app.model import (
    NO_COMPARISON,
    POLICY_SETS,
    UPLOADED_CSV,
    TeachingModel,
    build_scenario,
    month_label,
    policy_set_name,
)
from sim.cli import build_parser, main
from sim.errors import InputError
from sim.policies import REGISTRY
from sim.scenario import load_scenario


def test_month_label_counts_years_and_months_from_one():
    assert month_label(0) == "Start"
    assert month_label(1) == "Year 1, month 1"
    assert month_label(12) == "Year 1, month 12"
    assert month_label(13) == "Year 2, month 1"


@pytest.mark.parametrize("name, blocks", POLICY_SETS.items())
def test_policy_sets_name_themselves(name, blocks):
    assert policy_set_name({block: block in blocks for block in REGISTRY.names()}) == name


def test_policy_sets_match_the_shipped_scenarios():
    shipped = {}
    for stem in ("status_quo", "n_in_1", "strong_leads_weak", "self_governance", "integrated"):
        scenario = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / f"{stem}.yaml")
        shipped[stem] = {block for block, on in scenario.policies.items() if on}
    assert sorted(map(sorted, shipped.values())) == sorted(map(sorted, map(set, POLICY_SETS.values())))


def test_app_module_imports_and_builds_its_model_for_a_preset_and_a_policy_set():
    from sim.app import app

    assert callable(app.Page)
    model = TeachingModel(district="ouyang_road", merge=True, entrust=False, self_governance=False,
                          block_integration=False, fee_after_sale_public=0.8, rng=3)
    assert model.spec.name == "N-in-1 merger"
    assert model.spec.policies == {"merge": True, "entrust": False, "self_governance": False,
                                   "block_integration": False}
    assert model.p.fee_after_sale_public == 0.8
    assert len(model.estates) == 106 and model.comparison is None
    model.step()
    assert model.month == 1 and model.records
    # every control of the page is a keyword of the model, so SolaraViz can rebuild it on Reset
    params = app.model_params(model.settings, None)
    assert set(params) - {"csv_path"} == set(app.CONTROLS)
    assert TeachingModel(**{name: (spec["value"] if isinstance(spec, dict) else spec)
                            for name, spec in params.items()}).settings == model.settings


def test_side_by_side_runs_the_same_district_and_seed_under_another_policy():
    model = TeachingModel(compare_with="status quo", rng=5)
    other = model.comparison
    assert other is not None and other.spec.name == "status quo"
    assert not any(other.spec.policies.values()) and all(model.spec.policies.values())
    assert other.estates.equals(model.estates) and other.spec.seed == model.spec.seed == 5
    model.step()
    assert model.month == other.month == 1
    assert len(model.areas) < len(other.areas), "the integrated run merged nothing"


def test_side_by_side_with_the_same_policy_gives_the_same_run():
    model = TeachingModel(compare_with="integrated", rng=2)
    for _ in range(3):
        model.step()
    assert model.records == model.comparison.records


def test_unknown_district_or_policy_set_is_an_input_error():
    with pytest.raises(InputError, match="district"):
        build_scenario("atlantis")
    with pytest.raises(InputError, match="compare_with"):
        TeachingModel(compare_with="anarchy")
    with pytest.raises(InputError, match="no CSV file uploaded"):
        build_scenario(UPLOADED_CSV)


def test_uploaded_csv_becomes_the_district(tmp_path):
    sample = build_scenario("ouyang_road").load_district().estates.head(12)
    path = tmp_path / "twelve.csv"
    sample.to_csv(path, index=False)
    model = TeachingModel(district=UPLOADED_CSV, csv_path=str(path), rng=1)
    assert len(model.estates) == 12
    bad = tmp_path / "bad.csv"
    bad.write_text("estate_id,households\nA,10\n")
    with pytest.raises(InputError, match="floor_area_m2"):
        build_scenario(UPLOADED_CSV, csv_path=str(bad))


def test_an_uploaded_csv_is_kept_in_its_folder_and_checked(tmp_path):
    from sim.app.app import save_district_csv

    data = build_scenario("ouyang_road").load_district().estates.head(5).to_csv(index=False)
    path = save_district_csv("../../elsewhere/mine.csv", data.encode(), tmp_path)
    assert path == tmp_path / "mine.csv" and path.read_text() == data
    with pytest.raises(InputError, match="required column is missing"):
        save_district_csv("bad.csv", b"estate_id,households\nA,10\n", tmp_path)


def test_pictures_change_when_the_month_changes():
    from sim.app.drawing import MEASURES, DistrictMap, OutcomeCharts

    model = TeachingModel(compare_with="status quo", rng=1)
    maps = {measure: DistrictMap(model, measure) for measure in MEASURES}
    charts = OutcomeCharts([run.spec.name for run in model.runs])
    before = {measure: m.png(model) for measure, m in maps.items()}
    charts_before = charts.png(model.runs)
    for _ in range(2):
        model.step()
    for measure, m in maps.items():
        after = m.png(model)
        assert after.startswith(b"\x89PNG") and after != before[measure], measure
    assert charts.png(model.runs) != charts_before


def test_events_feed_is_escaped_and_newest_first():
    from sim.app.app import events_html

    feed = events_html([(1, "Merger of <b>A</b> passed"), (14, "Firm 7 left the market")])
    assert "&lt;b&gt;A&lt;/b&gt;" in feed and "<b>" not in feed
    assert feed.index("Year 2, month 2") < feed.index("Year 1, month 1")


def test_page_steps_and_resets_in_process():
    """The Solara page without a browser: Step advances the readout, Reset starts again."""
    import ipyvuetify as v
    import solara

    from sim.app.app import Page

    @solara.component
    def Layout():
        with solara.AppLayout():
            Page()

    box, rc = solara.render(Layout(), handle_error=False)

    def readout() -> list[str]:
        return re.findall(r"'((?:Start|Year \d+, month \d+) · [^']*)'", repr(box))

    assert readout()[0].startswith("Start · integrated")
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert readout()[0].startswith("Year 1, month 2 · integrated")
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert readout()[0].startswith("Start · integrated")
    rc.close()


def test_app_command_defaults_to_loopback_and_port_8765():
    from sim.app.server import DEFAULT_HOST, server_command

    args = build_parser().parse_args(["app"])
    assert (args.host, args.port) == ("127.0.0.1", 8765) == (DEFAULT_HOST, 8765)
    command = server_command()
    assert command[command.index("--host") + 1] == "127.0.0.1"


@pytest.mark.parametrize("port", ["0", "65536", "-3", "http", "80.5"])
def test_app_command_refuses_a_bad_port_with_exit_2(port, capsys):
    assert main(["app", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.startswith("estate-sim: error: command line: --port") and len(err.splitlines()) == 1


def test_app_command_refuses_a_port_in_use_with_exit_2(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    assert "--port: cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_app_command_bad_port_from_the_shell_exits_2_without_traceback(cli):
    done = cli("app", "--port", "70000", timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "--port" in done.stderr


def test_no_comparison_is_the_default():
    assert TeachingModel.__init__.__kwdefaults__["compare_with"] == NO_COMPARISON


def test_every_slider_starts_on_its_grid_at_the_model_default():
    """A default between two slider positions would show one value and run another."""
    from sim.app.app import CONTROLS

    defaults = TeachingModel.__init__.__kwdefaults__
    for name, control in CONTROLS.items():
        if control["type"] not in ("SliderInt", "SliderFloat"):
            continue
        value = defaults[name]
        assert control["min"] <= value <= control["max"], name
        positions = (value - control["min"]) / control["step"]
        assert abs(positions - round(positions)) < 1e-6, f"{name}={value} is off its slider's grid"
