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


TINY_CSV = ("estate_id,households,floor_area_m2,housing_type,x_m,y_m\n"
            "A,120,7000,after_sale_public,0,0\nB,90,5500,after_sale_public,120,0\n"
            "C,400,38000,commodity,0,150\n")
"""A three-estate district: two small after-sale estates that can merge, one large."""


def write_calibration(folder: Path, samples: int = 4) -> Path:
    """A calibration of a three-estate district (e.csv), one year: `samples` × 2 seeds, 2 refined."""
    (folder / "e.csv").write_text(TINY_CSV)
    (folder / "s.yaml").write_text("name: s\ndistrict: {csv: e.csv}\npolicy: {merge: {enabled: true}}\n"
                                   "years: 1\nseed: 1\n")
    path = folder / "calibration.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny", "scenario": "s.yaml", "engine": "vector", "seed": 3, "samples": samples,
        "seeds_per_sample": 2, "accept": 0.5, "refine": 2, "refine_seeds": 2,
        "priors": {"merge_support": [0.2, 0.7], "merge_max_distance_m": [100.0, 300.0]},
        "targets": {"areas": {"value": 2, "tolerance": 1}},
        "holdout": {"merge_votes_failed": {"value": 0, "tolerance": 1}}}))
    return path


def calibration_files(folder: Path) -> dict[str, bytes]:
    """The files a calibration wrote (its CSVs and JSON, not its runs), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
