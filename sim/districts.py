"""Districts: the estates a run starts from (built-in presets, a CSV file, or a generator).

A district is a table with one row per estate (小区): ``estate_id, households, floor_area_m2,
housing_type, x_m, y_m, block, gates, fee_yuan_per_m2, fund_yuan, condition``. The presets are
built by the same seeded generator a scenario's ``generate:`` block uses, from documented
compositions (docs/ODD.md, "Input data"), so that nothing about the outcome is written in.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.params import HOUSING_TYPES, Params

REQUIRED_COLUMNS = ("estate_id", "households", "floor_area_m2", "housing_type", "x_m", "y_m")
OPTIONAL_COLUMNS = ("block", "gates", "fee_yuan_per_m2", "fund_yuan", "condition")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ESTATE_HOUSEHOLDS = 100_000
"""Most households one CSV estate may have (the largest Chinese estates have tens of thousands)."""
MAX_ESTATE_GATES = 1_000
"""Most entrances one CSV estate may have."""


@dataclass(frozen=True)
class HousingProfile:
    """How estates of one housing type are usually built: size and floor area per household."""

    median_households: float
    households_sigma: float
    min_households: int
    max_households: int
    m2_per_household: float


# Sizes are assumptions (docs/SOURCES.md gives no per-type size distribution for Hongkou); areas per
# household follow the flat sizes typical of each type.
HOUSING_PROFILES: dict[str, HousingProfile] = {
    "after_sale_public": HousingProfile(150, 0.6, 30, 900, 60.0),
    "commodity": HousingProfile(450, 0.6, 60, 3000, 95.0),
    "old_mixed": HousingProfile(130, 0.6, 30, 800, 55.0),
    "old_lane": HousingProfile(90, 0.5, 20, 400, 35.0),
    "new_lane": HousingProfile(70, 0.5, 15, 300, 80.0),
    "garden_house": HousingProfile(40, 0.5, 8, 200, 180.0),
    "staff_housing": HousingProfile(120, 0.5, 30, 600, 55.0),
    "high_rise": HousingProfile(250, 0.4, 80, 1200, 90.0),
}

DEFAULT_MIX: dict[str, float] = {
    "after_sale_public": 0.40, "commodity": 0.30, "old_mixed": 0.07, "old_lane": 0.07,
    "new_lane": 0.04, "garden_house": 0.03, "staff_housing": 0.05, "high_rise": 0.04,
}
"""Housing mix of a generated district: an old inner-city subdistrict (assumption)."""

BLOCK_SIDE_M = 450.0
"""Side of a street block (街区) in a generated district (assumption: Hongkou's street grid)."""


@dataclass(frozen=True)
class District:
    """A district: its name and its estates table (one row per estate, COLUMNS)."""

    name: str
    estates: pd.DataFrame

    @property
    def households(self) -> int:
        """Households in the district."""
        return int(self.estates["households"].sum())

    def __len__(self) -> int:
        return len(self.estates)


# --- defaults for optional columns --------------------------------------------------------

def default_gates(households, housing_type):
    """Entrances of an estate: lanes have one; others one per started 400 households."""
    lane = np.isin(housing_type, ["old_lane", "new_lane"])
    return np.where(lane, 1, 1 + np.asarray(households) // 400).astype(int)


def fill_defaults(estates: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Fill missing optional columns (or missing cells) with the housing type's defaults."""
    out = estates.copy()
    htype = out["housing_type"].to_numpy()
    defaults = {
        "block": np.full(len(out), "district", dtype=object),
        "gates": default_gates(out["households"].to_numpy(), htype),
        "fee_yuan_per_m2": np.array([params[f"fee_{t}"] for t in htype], dtype=float),
        "fund_yuan": np.array([params[f"fund_per_m2_{t}"] for t in htype], dtype=float)
        * out["floor_area_m2"].to_numpy(dtype=float),
        "condition": np.array([params[f"condition_{t}"] for t in htype], dtype=float),
    }
    for column, values in defaults.items():
        if column not in out:
            out[column] = values
        else:
            missing = out[column].isna().to_numpy()
            if missing.any():
                column_values = np.array(out[column], dtype=object if column == "block" else float)
                column_values[missing] = values[missing]
                out[column] = column_values
    out["block"] = out["block"].astype(str)
    out["gates"] = out["gates"].astype(int)
    return out[list(COLUMNS)].reset_index(drop=True)


# --- CSV ----------------------------------------------------------------------------------

def _read_header_and_check_rows(path: Path, source: str) -> list[str]:
    """The CSV's column names; a row with more values than columns is an error naming its line.

    (pandas would silently take the extra leading values as an index and shift every column.)
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = next(rows, [])
            for row in rows:
                if len(row) > len(header):
                    raise InputError(source, None, f"row {rows.line_num}: {len(row)} values but "
                                     f"{len(header)} columns in the header")
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise InputError(source, None, f"not a readable CSV file ({exc})") from None
    return [c.strip() for c in header]


def read_district_csv(path: Path, params: Params) -> District:
    """Read a district CSV (one row per estate) and check it; errors name the file and column."""
    source = str(path)
    if not path.is_file():
        raise InputError(source, "district.csv", "file not found")
    header = _read_header_and_check_rows(path, source)
    if not any(header):
        raise InputError(source, None, "not a district CSV: the file has no header row")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(source, repeated[0], "column given more than once")
    try:
        raw = pd.read_csv(path, dtype={"estate_id": str, "block": str, "housing_type": str},
                          encoding="utf-8-sig", index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(source, None, f"not a readable CSV file ({exc})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    for column in REQUIRED_COLUMNS:
        if column not in raw.columns:
            raise InputError(source, column, "required column is missing")
    unknown = sorted(set(raw.columns) - set(COLUMNS))
    if unknown:
        raise InputError(source, unknown[0], f"unknown column (allowed: {', '.join(COLUMNS)})")
    if raw.empty:
        raise InputError(source, "estate_id", "the file has no estates")
    validate_estates(raw, source)
    return District(path.stem, fill_defaults(raw, params))


def _shown(value) -> str:
    """A CSV cell as the author wrote it (no numpy reprs in messages)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


def _check_numeric(estates: pd.DataFrame, column: str, source: str, *, positive: bool,
                   integer: bool = False, upper: float | None = None, required: bool = True):
    values = pd.to_numeric(estates[column], errors="coerce")
    bad_text = values.isna() & estates[column].notna()
    if bad_text.any():
        row = int(np.flatnonzero(bad_text.to_numpy())[0])
        raise InputError(source, column,
                         f"row {row + 2}: {_shown(estates[column].iloc[row])} is not a number")
    if required and values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(source, column, f"row {row + 2}: empty value")
    finite = values.dropna()
    if not np.isfinite(finite).all():
        row = int(finite.index[~np.isfinite(finite.to_numpy())][0])
        raise InputError(source, column, f"row {row + 2}: values must be finite numbers")
    problems = [(finite <= 0, "positive") if positive else (finite < 0, "zero or more")]
    if upper is not None:
        problems.append((finite > upper, f"at most {_shown(upper)}"))
    if integer:
        problems.append((finite != np.floor(finite), "a whole number"))
    for bad, what in problems:
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(source, column, f"row {row + 2}: {_shown(finite[row])} must be {what}")
    estates[column] = values


def validate_estates(estates: pd.DataFrame, source: str) -> None:
    """Check an estates table in place (types, ranges, unique ids, known housing types)."""
    estates.index = pd.RangeIndex(len(estates))
    ids = estates["estate_id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        row = int(np.flatnonzero((ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy())[0])
        raise InputError(source, "estate_id", f"row {row + 2}: empty value")
    estates["estate_id"] = ids.astype(str).str.strip()
    duplicated = estates["estate_id"].duplicated()
    if duplicated.any():
        raise InputError(source, "estate_id",
                         f"duplicate estate_id {estates['estate_id'][duplicated].iloc[0]!r}")
    _check_numeric(estates, "households", source, positive=True, integer=True,
                   upper=MAX_ESTATE_HOUSEHOLDS)
    _check_numeric(estates, "floor_area_m2", source, positive=True)
    _check_numeric(estates, "x_m", source, positive=False)
    _check_numeric(estates, "y_m", source, positive=False)
    types = estates["housing_type"]
    if types.isna().any():
        row = int(np.flatnonzero(types.isna().to_numpy())[0])
        raise InputError(source, "housing_type", f"row {row + 2}: empty value")
    estates["housing_type"] = types.astype(str).str.strip()
    unknown = ~estates["housing_type"].isin(list(HOUSING_TYPES))
    if unknown.any():
        raise InputError(source, "housing_type",
                         f"unknown housing type {estates['housing_type'][unknown].iloc[0]!r} "
                         f"(known: {', '.join(HOUSING_TYPES)})")
    optional_checks = {"gates": dict(positive=False, integer=True, upper=MAX_ESTATE_GATES),
                       "fee_yuan_per_m2": dict(positive=False),
                       "fund_yuan": dict(positive=False),
                       "condition": dict(positive=False, upper=1.0)}
    for column, check in optional_checks.items():
        if column in estates:
            _check_numeric(estates, column, source, required=False, **check)


# --- the generator ------------------------------------------------------------------------

def _place_in_block(n: int, block_index: int, blocks_per_row: int, rng: np.random.Generator):
    """Positions (x, y in metres) of n estates on a jittered grid inside one street block."""
    side = max(1, math.ceil(math.sqrt(n)))
    cell = BLOCK_SIDE_M / side
    bx, by = block_index % blocks_per_row, block_index // blocks_per_row
    k = np.arange(n)
    jitter = rng.uniform(-0.2, 0.2, size=(n, 2)) * cell
    x = bx * BLOCK_SIDE_M + (k % side + 0.5) * cell + jitter[:, 0]
    y = by * BLOCK_SIDE_M + (k // side + 0.5) * cell + jitter[:, 1]
    return x, y


def _draw_households(housing_type: str, n: int, rng: np.random.Generator, size_scale: float):
    prof = HOUSING_PROFILES[housing_type]
    raw = prof.median_households * size_scale * np.exp(prof.households_sigma * rng.standard_normal(n))
    return np.clip(np.round(raw), prof.min_households, prof.max_households * max(1.0, size_scale))


def build_estates(types: np.ndarray, households: np.ndarray, blocks: np.ndarray,
                  block_names: list[str], rng: np.random.Generator, params: Params,
                  ids: list[str] | None = None, prefix: str = "E") -> pd.DataFrame:
    """Estates table from per-estate types, sizes and block indices; the rest drawn from rng.

    Estates of one type sit next to each other inside a block, as they were built together.
    """
    n = len(types)
    m2 = np.array([HOUSING_PROFILES[t].m2_per_household for t in types])
    floor = np.round(households * m2 * rng.uniform(0.9, 1.1, n), -1)
    x = np.empty(n)
    y = np.empty(n)
    blocks_per_row = max(1, math.ceil(math.sqrt(len(block_names))))
    for b in range(len(block_names)):
        members = np.flatnonzero(blocks == b)
        members = members[np.argsort(types[members], kind="stable")]
        x[members], y[members] = _place_in_block(len(members), b, blocks_per_row, rng)
    fee = np.array([params[f"fee_{t}"] for t in types]) * rng.uniform(0.85, 1.15, n)
    fund = np.array([params[f"fund_per_m2_{t}"] for t in types]) * floor * rng.uniform(0.4, 1.6, n)
    cond = np.clip(np.array([params[f"condition_{t}"] for t in types]) + rng.uniform(-0.1, 0.1, n),
                   0.05, 1.0)
    width = max(3, len(str(n)))
    return pd.DataFrame({
        "estate_id": ids if ids is not None else [f"{prefix}{i + 1:0{width}d}" for i in range(n)],
        "households": households.astype(int),
        "floor_area_m2": floor,
        "housing_type": types,
        "x_m": np.round(x, 1),
        "y_m": np.round(y, 1),
        "block": np.array(block_names, dtype=object)[blocks],
        "gates": default_gates(households, types),
        "fee_yuan_per_m2": np.round(fee, 2),
        "fund_yuan": np.round(fund, -2),
        "condition": np.round(cond, 3),
    })


def generate_district(estates: int, *, seed: int = 0, estates_per_block: int = 12,
                      size_scale: float = 1.0, mix: dict[str, float] | None = None,
                      params: Params | None = None, name: str = "generated") -> District:
    """A synthetic district of any size: housing types from `mix`, sizes from HOUSING_PROFILES.

    The generator's own seed makes the district a fixed input, independent of the run's seed.
    """
    params = params or Params()
    mix = mix or DEFAULT_MIX
    rng = np.random.default_rng(seed)
    names = list(mix)
    shares = np.array([mix[t] for t in names], dtype=float)
    types = np.array(names, dtype=object)[rng.choice(len(names), size=estates, p=shares / shares.sum())]
    households = np.empty(estates)
    for t in names:
        sel = types == t
        households[sel] = _draw_households(t, int(sel.sum()), rng, size_scale)
    n_blocks = max(1, math.ceil(estates / estates_per_block))
    blocks = np.sort(rng.integers(0, n_blocks, size=estates))
    block_names = [f"B{b + 1:03d}" for b in range(n_blocks)]
    table = build_estates(types.astype(str), households, blocks, block_names, rng, params)
    return District(name, table)


# --- Ouyang Road --------------------------------------------------------------------------

# The composition of Ouyang Road's 106 pre-merger estates (assumption where not from the article):
# nine residents' areas (blocks). "Jianshe" follows the article (7 after-sale, 4 commodity,
# 1 old mixed; 150,000 m2; 2,300+ households; 6 estates under 5,000 m2). Hongyi, Hongtie and
# Xiangde No. 3 are the article's three small after-sale estates around one lane entrance.
_OUYANG_BLOCKS: dict[str, dict[str, int]] = {
    "Block-01": {"after_sale_public": 7, "commodity": 3, "staff_housing": 1},
    "Block-02": {"after_sale_public": 6, "commodity": 2, "old_lane": 2, "new_lane": 1},
    "Block-03": {"after_sale_public": 5, "commodity": 3, "old_mixed": 2, "high_rise": 1},
    "Block-04": {"after_sale_public": 6, "commodity": 2, "old_lane": 2, "garden_house": 1},
    "Block-05": {"after_sale_public": 5, "commodity": 3, "old_mixed": 2, "staff_housing": 1},
    "Block-06": {"after_sale_public": 5, "commodity": 3, "new_lane": 2, "high_rise": 1},
    "Block-07": {"after_sale_public": 5, "commodity": 2, "old_lane": 3, "staff_housing": 2},
    "Block-08": {"after_sale_public": 4, "commodity": 2, "old_mixed": 3, "new_lane": 1,
                 "garden_house": 1, "staff_housing": 1, "high_rise": 1},
}
_JIANSHE = [  # (estate name, housing type, households, floor area m2)
    ("Jianshe-1", "after_sale_public", 60, 3900), ("Jianshe-2", "after_sale_public", 70, 4300),
    ("Jianshe-3", "after_sale_public", 55, 3500), ("Jianshe-4", "after_sale_public", 75, 4700),
    ("Jianshe-5", "after_sale_public", 68, 4100), ("Jianshe-6", "old_mixed", 62, 3800),
    ("Jianshe-7", "after_sale_public", 260, 16000), ("Jianshe-8", "after_sale_public", 330, 20500),
    ("Jianshe-9", "commodity", 300, 22000), ("Jianshe-10", "commodity", 360, 27000),
    ("Jianshe-11", "commodity", 330, 21500), ("Jianshe-12", "commodity", 345, 18700),
]
_HONGYI = [("Hongyi", "after_sale_public", 190, 15300), ("Hongtie", "after_sale_public", 175, 14600),
           ("Xiangde-3", "after_sale_public", 170, 14400)]
OUYANG_ROAD_SEED = 20230116
"""Seed of the preset's own generator (the article's date): the district is a fixed input."""


def ouyang_road(params: Params | None = None) -> District:
    """The built-in Ouyang Road subdistrict: 106 estates in nine blocks before the merger programme."""
    params = params or Params()
    rng = np.random.default_rng(OUYANG_ROAD_SEED)
    block_names = list(_OUYANG_BLOCKS) + ["Jianshe"]
    named = _HONGYI + _JIANSHE
    types = [t for _, t, _, _ in named]
    households = [float(h) for _, _, h, _ in named]
    blocks = [0] * len(_HONGYI) + [len(block_names) - 1] * len(_JIANSHE)
    for b, composition in enumerate(_OUYANG_BLOCKS.values()):
        for htype, count in composition.items():
            types += [htype] * count
            households += list(_draw_households(htype, count, rng, 1.0))
            blocks += [b] * count
    table = build_estates(np.array(types), np.array(households), np.array(blocks), block_names,
                          rng, params)
    n_named = len(named)
    table["estate_id"] = [name for name, _, _, _ in named] + [
        f"OY-{i + 1:03d}" for i in range(len(types) - n_named)]
    named_floor = np.array([m2 for _, _, _, m2 in named], dtype=float)
    table.loc[: n_named - 1, "floor_area_m2"] = named_floor
    table.loc[: n_named - 1, "fund_yuan"] = np.round(
        named_floor * np.array([params[f"fund_per_m2_{t}"] for _, t, _, _ in named])
        * rng.uniform(0.4, 1.6, n_named), -2)
    return District("ouyang_road", table)


PRESETS = {"ouyang_road": ouyang_road,  # sim/shanghai.py builds on this module: imported on use
           "shanghai": lambda params=None: __import__("sim.shanghai", fromlist=["_"]).shanghai(params)}
"""Built-in districts by name (the vectorized engine's issue adds `shanghai`)."""


def load_preset(name: str, params: Params, source: str = "<scenario>") -> District:
    """A built-in district by name; an unknown name is an InputError."""
    if name not in PRESETS:
        raise InputError(source, "district.preset",
                         f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    district = PRESETS[name](params)
    return District(district.name, fill_defaults(district.estates, params))
