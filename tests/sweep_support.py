"""Small sweep files for the sweep tests: two tiny generated districts, one year, mesa."""

from pathlib import Path

import pandas as pd
import yaml

from analysis.results import load_areas, load_runs, load_timeseries

TINY_DISTRICT = {"generate": {"estates": 6, "seed": 1}}


def write_scenarios(folder: Path, estates: int = 6) -> list[str]:
    """Two tiny scenarios (status quo; merging on) in folder/scenarios; paths relative to folder."""
    (folder / "scenarios").mkdir(parents=True, exist_ok=True)
    names = []
    for name, merge in (("quiet", False), ("merging", True)):
        scenario = {"name": name, "district": {"generate": {"estates": estates, "seed": 1}},
                    "policy": {"merge": {"enabled": merge}}, "years": 1, "seed": 7}
        (folder / "scenarios" / f"{name}.yaml").write_text(yaml.safe_dump(scenario))
        names.append(f"scenarios/{name}.yaml")
    return names


def write_sweep(folder: Path, name: str = "sweep.yaml", estates: int = 6, **fields) -> Path:
    """A sweep file over the two tiny scenarios; `fields` replace or add top-level keys."""
    sweep = {"name": "tiny", "scenarios": write_scenarios(folder, estates), "replicates": 2,
             "seed": 12345, "engine": "mesa"}
    sweep.update(fields)
    path = folder / name
    path.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return path


def results_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Everything a results folder holds, minus wall times, in a fixed row order."""
    runs = load_runs(folder).drop(columns="wall_time_s")
    order = ["run_id", "month"]
    return {"runs": runs.sort_values("run_id").reset_index(drop=True),
            "timeseries": load_timeseries(folder).sort_values(order).reset_index(drop=True),
            "areas": load_areas(folder).sort_values(["run_id", "area_id"]).reset_index(drop=True)}


def assert_same_results(a: Path, b: Path) -> None:
    """Two results folders hold the same runs, seeds, factor values and outputs, exactly."""
    left, right = results_tables(a), results_tables(b)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], check_exact=True, obj=name)
