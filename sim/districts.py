"""Districts: the estates a run starts from (built-in presets, a CSV file, or a generator).

A district is a table with one row per estate (小区): ``estate_id, households, floor_area_m2,
housing_type, x_m, y_m, block, gates, fee_yuan_per_m2, fund_yuan, condition``. The presets are
built by the same seeded generator a scenario's ``generate:`` block uses, from documented
compositions (docs/ODD.md, "Input data"), so that nothing about the outcome is written in.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, not_a_file, shown
from sim.params import HOUSING_TYPES, Params

REQUIRED_COLUMNS = ("estate_id", "households", "floor_area_m2", "housing_type", "x_m", "y_m")
OPTIONAL_COLUMNS = ("block", "gates", "fee_yuan_per_m2", "fund_yuan", "condition")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
LABEL_COLUMN = "name"
"""A CSV column that names the estates for people (小区名称): the estate's label in the tables."""
TYPO_CUTOFF = 0.8
"""A CSV column this close to a model column (difflib's ratio) is taken for a misspelling of it
and refused with the fix; any other column is kept as an estate attribute."""


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
    """A district: its name and its estates table (one row per estate, COLUMNS).

    ``attributes`` holds a CSV's further columns (a name, an address, ...), one row per estate
    beside ``estate_id``: kept for the tables, never read by the model. ``notes`` says what
    was kept, for `validate` and `run` to print.
    """

    name: str
    estates: pd.DataFrame
    attributes: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    @property
    def households(self) -> int:
        """Households in the district."""
        return int(self.estates["households"].sum())

    def __len__(self) -> int:
        return len(self.estates)

    def with_attributes(self, table: pd.DataFrame) -> pd.DataFrame:
        """A table keyed by ``estate_id`` with the estates' attributes joined.

        ``name`` comes right after ``estate_id`` (the estate's label), the others at the end.
        """
        if self.attributes is None or "estate_id" not in table:
            return table
        extra = [c for c in self.attributes.columns if c != "estate_id" and c not in table]
        out = table.merge(self.attributes[["estate_id", *extra]], on="estate_id", how="left",
                          validate="many_to_one")
        if LABEL_COLUMN in extra:
            columns = [c for c in out.columns if c != LABEL_COLUMN]
            columns.insert(columns.index("estate_id") + 1, LABEL_COLUMN)
            out = out[columns]
        return out


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

HOUSING_TYPE_ALIASES: dict[str, str] = {
    # the article's Chinese names (README, docs/ODD.md) and common variants
    "售后公房": "after_sale_public", "公房": "after_sale_public", "售后房": "after_sale_public",
    "商品房": "commodity", "商品住宅": "commodity",
    "混合老旧": "old_mixed", "老旧混合": "old_mixed", "老旧小区": "old_mixed",
    "二级旧里": "old_lane", "旧式里弄": "old_lane", "旧里": "old_lane",
    "新式里弄": "new_lane", "新里": "new_lane",
    "花园洋房": "garden_house", "花园住宅": "garden_house",
    "职工住宅": "staff_housing", "职工宿舍": "staff_housing",
    "高层公寓": "high_rise", "高层住宅": "high_rise", "高层": "high_rise",
    # English synonyms
    "after_sale": "after_sale_public", "public_housing": "after_sale_public",
    "after_sale_public_housing": "after_sale_public", "sold_public_housing": "after_sale_public",
    "commercial": "commodity", "commodity_housing": "commodity",
    "commercial_housing": "commodity", "private": "commodity",
    "old_mixed_housing": "old_mixed", "mixed": "old_mixed",
    "old_lane_house": "old_lane", "old_lane_houses": "old_lane", "shikumen": "old_lane",
    "lilong": "old_lane",
    "new_lane_house": "new_lane", "new_lane_houses": "new_lane", "new_style_lane": "new_lane",
    "garden": "garden_house", "garden_houses": "garden_house", "villa": "garden_house",
    "staff": "staff_housing", "work_unit_housing": "staff_housing", "danwei": "staff_housing",
    "highrise": "high_rise", "high_rise_apartments": "high_rise", "tower": "high_rise",
}
"""Other names a CSV may give a housing type (case, spaces and hyphens ignored): documented in
README.md's district-CSV section."""

CSV_BOUNDS: dict[str, tuple[float, float, str]] = {
    "households": (1, 100_000, "assumption: the largest Chinese estates have tens of thousands"),
    "floor_area_m2": (0, 10_000_000, "assumption: 10 million m2, more than the largest estates"),
    "x_m": (-1_000_000, 1_000_000, "assumption: 1,000 km from the origin, wider than any city"),
    "y_m": (-1_000_000, 1_000_000, "assumption: 1,000 km from the origin, wider than any city"),
    "gates": (0, 1_000, "assumption"),
    "fee_yuan_per_m2": (0, 100, "assumption: 25 times the top of the documented fees (4.0, docs/ODD.md "
                        "parameter table); validate warns above 10"),
    "fund_yuan": (0, 10_000_000_000, "floor area bound x the fund-per-m2 parameters' bound "
                  "(1,000 yuan/m2)"),
    "condition": (0, 1, "a share"),
}
"""Each numeric column's allowed [low, high] and where the bound comes from
(docs/RELIABILITY.md, "Bounds"). Households must be at least 1 and floor area above 0."""

PLAUSIBLE_M2_PER_HOUSEHOLD = (10.0, 400.0)
"""Floor area per household outside this range draws a warning from `validate` (assumption:
Shanghai flats run from ~15 m2 lane rooms to ~300 m2 villas)."""
PLAUSIBLE_FEE = (0.1, 10.0)
"""Fees (yuan/m2/month) outside this range draw a warning: documented fees run 0.4-4.0."""
PLAUSIBLE_EXTENT_M = (50.0, 100_000.0)
"""A district whose estates span less than 50 m or more than 100 km draws a warning (degrees
given as metres span a metre or so)."""

MAX_ESTATES = 200_000
"""Most estates (rows) a district may have, read or generated."""
MAX_CSV_BYTES = 50_000_000
"""Largest district CSV: MAX_ESTATES rows of a few hundred bytes at most."""
MAX_ID_CHARS = 100
"""Longest estate id or block name (ids are joined into area ids, shown in tables and figures)."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _decode(data: bytes, source: str) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(source, None, "not a text file in UTF-8 or GBK/GB18030: save it as "
                         "'CSV UTF-8' (in Excel: Save As, CSV UTF-8)") from None
    return text


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: comma, semicolon or tab (Excel in many locales)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def housing_type(name: str) -> str | None:
    """The housing type a CSV cell names (a type, a Chinese name or a synonym), else None."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    if key in HOUSING_TYPES:
        return key
    return HOUSING_TYPE_ALIASES.get(key) or HOUSING_TYPE_ALIASES.get(name.strip())


def parse_number(cell: str, column: str, row: int, source: str) -> float:
    """A CSV cell as a number, strictly: digits only (no True, inf, nan).

    Thousands separators and, in a share column, a trailing % are understood; anything else is
    refused with the fix.
    """
    text = cell.strip()
    where = f"row {row}"
    if text.endswith("%"):
        inner = text[:-1].strip()
        if column == "condition" and _NUMBER.fullmatch(inner):
            return float(inner) / 100
        raise InputError(source, column, f"{where}: {text!r} is a percentage; write the number "
                         f"without % (e.g. {inner})")
    if _THOUSANDS.fullmatch(text):
        return float(text.replace(",", ""))
    if not _NUMBER.fullmatch(text):
        fix = ""
        if re.fullmatch(r"[+-]?\d+(?:[ '\u00a0\u202f]\d{3})+(?:\.\d+)?", text):
            fix = f"; write it without separators ({re.sub(r'[^0-9.+-]', '', text)})"
        elif re.fullmatch(r"[+-]?\d+,\d+", text):
            fix = f"; use a dot for decimals ({text.replace(',', '.')})"
        raise InputError(source, column, f"{where}: {text!r} is not a number{fix}")
    value = float(text)
    if not math.isfinite(value):
        raise InputError(source, column, f"{where}: {text!r} is too large (not a finite number)")
    return value


def _read_rows(path: Path, source: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV file, every cell a string, nothing guessed."""
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise InputError(source, None, f"is larger than {MAX_CSV_BYTES // 1_000_000} MB; a district "
                             f"has at most {MAX_ESTATES:,} estates (rows)")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(source, None, f"cannot read the file ({exc.strerror})") from None
    if b"\0" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(source, None, "not a CSV file (it holds NUL bytes): save it as 'CSV UTF-8'")
    text = _decode(data, source)
    delimiter = _sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader, [])
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines (Excel leaves some at the end)
            if len(row) > len(header):
                hint = "" if delimiter != "," else (
                    " (a number with a thousands separator must be quoted: \"14,000\")")
                raise InputError(source, None, f"row {reader.line_num}: {len(row)} values but "
                                 f"{len(header)} columns in the header{hint}")
            rows.append(row + [""] * (len(header) - len(row)))
            if len(rows) > MAX_ESTATES:
                raise InputError(source, None, f"more than {MAX_ESTATES:,} estates (rows); split the "
                                 "district")
    except csv.Error as exc:
        raise InputError(source, None, f"not a readable CSV file ({exc})") from None
    return [c.strip().lstrip("\ufeff") for c in header], rows


def read_district_csv(path: Path, params: Params) -> District:
    """Read a district CSV (one row per estate) and check it; errors name the file and column.

    Friendly to spreadsheets: UTF-8 or GBK/GB18030, comma, semicolon or tab, Chinese housing
    type names and synonyms, thousands separators; strict per column (``NA`` is a name,
    ``True`` is not a number).
    """
    source = str(path)
    problem = not_a_file(path)
    if problem:
        raise InputError(source, "district.csv", problem)
    header, rows = _read_rows(path, source)
    if not any(header):
        raise InputError(source, None, "not a district CSV: the file has no header row")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(source, repeated[0], "column given more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        extra = [h for h in header if h not in COLUMNS]
        hints = []
        for column in missing:
            match = difflib.get_close_matches(column, extra, n=1, cutoff=0.6)
            if match:
                hints.append(f"{match[0]!r} → {column}")
        raise InputError(source, ", ".join(missing),
                         f"required column{'s are' if len(missing) > 1 else ' is'} missing"
                         + (f" (did you mean: {', '.join(hints)}?)" if hints else ""))
    extra = [c for c in header if c not in COLUMNS]
    for column in extra:
        if difflib.get_close_matches(column, COLUMNS, n=1, cutoff=TYPO_CUTOFF):
            raise InputError(source, column, f"unknown column{_did_you_mean(column, COLUMNS)} "
                             f"(model columns: {', '.join(COLUMNS)})")
    if not rows:
        raise InputError(source, "estate_id", "the file has no estates")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    raw = pd.DataFrame({name: _parse_column(name, cells, source)
                        for name, cells in columns.items() if name in COLUMNS})
    validate_estates(raw, source)
    if not extra:
        return District(path.stem, fill_defaults(raw, params))
    attributes = pd.DataFrame({"estate_id": raw["estate_id"],
                               **{name: _attribute(columns[name]) for name in extra}})
    label = f"; {LABEL_COLUMN!r} labels the estates in the tables" if LABEL_COLUMN in extra else ""
    note = (f"{source}: column{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} kept as "
            f"estate attribute{'s' if len(extra) > 1 else ''} (in the estates table, not read by the "
            f"model{label})")
    return District(path.stem, fill_defaults(raw, params), attributes, (note,))


def _attribute(cells: list[str]) -> list:
    """A further CSV column as given: numbers when every filled cell is one, else text."""
    values = [cell.strip() or None for cell in cells]
    if all(v is None or _NUMBER.fullmatch(v) for v in values) and any(values):
        return [float(v) if v is not None else float("nan") for v in values]
    return values


def _parse_column(name: str, cells: list[str], source: str) -> list:
    if name in ("estate_id", "block"):
        return [cell.strip() if cell.strip() else None for cell in cells]
    if name == "housing_type":
        out = []
        for row, cell in enumerate(cells, start=2):
            if not cell.strip():
                out.append(None)
                continue
            htype = housing_type(cell)
            if htype is None:
                known = [*HOUSING_TYPES, *HOUSING_TYPE_ALIASES]
                raise InputError(source, "housing_type",
                                 f"row {row}: unknown housing type {cell.strip()!r}"
                                 f"{_did_you_mean(cell.strip(), known)} (known: "
                                 f"{', '.join(HOUSING_TYPES)}, or their Chinese names)")
            out.append(htype)
        return out
    return [parse_number(cell, name, row, source) if cell.strip() else float("nan")
            for row, cell in enumerate(cells, start=2)]


def plausibility_warnings(district: District, source: str) -> list[str]:
    """What looks wrong in a district though it is allowed, one line each.

    The district's extent, floor area per household, fees, estates on top of each other.
    `validate` prints these; nothing refuses them.
    """
    estates = district.estates
    out = []
    x, y = estates["x_m"].to_numpy(float), estates["y_m"].to_numpy(float)
    if len(estates) > 1:
        extent = max(x.max() - x.min(), y.max() - y.min())
        low, high = PLAUSIBLE_EXTENT_M
        if extent < low:
            out.append(f"{source}: x_m, y_m: the estates span only {extent:.3g} m (degrees of "
                       "latitude/longitude given as metres? x_m and y_m are metres)")
        elif extent > high:
            out.append(f"{source}: x_m, y_m: the estates span {extent / 1000:,.0f} km (more than "
                       f"{high / 1000:,.0f} km: are x_m and y_m in metres?)")
        same = pd.DataFrame({"x": x, "y": y}).duplicated(keep="first").to_numpy()
        if same.any():
            first = estates["estate_id"].iloc[int(np.flatnonzero(same)[0])]
            out.append(f"{source}: x_m, y_m: {int(same.sum())} estate(s) sit exactly on another "
                       f"(e.g. {first!r})")
    per_household = estates["floor_area_m2"].to_numpy(float) / estates["households"].to_numpy(float)
    checks = [("floor_area_m2", "a floor area per household", per_household,
               PLAUSIBLE_M2_PER_HOUSEHOLD, "m2", ""),
              ("fee_yuan_per_m2", "a fee", estates["fee_yuan_per_m2"].to_numpy(float),
               PLAUSIBLE_FEE, "yuan/m2/month", "; documented fees run 0.4-4.0")]
    for column, what, values, (low, high), unit, note in checks:
        odd = (values < low) | (values > high)
        if odd.any():
            i = int(np.flatnonzero(odd)[0])
            out.append(f"{source}: {column}: {int(odd.sum())} estate(s) have {what} outside "
                       f"[{low:g}, {high:g}] {unit} (e.g. {estates['estate_id'].iloc[i]!r}: "
                       f"{values[i]:.3g} {unit}){note}")
    return out


def _shown(value) -> str:
    """A CSV cell as the author wrote it (no numpy reprs in messages)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        return _number(value)
    return repr(value) if isinstance(value, str) else str(value)


def _number(value: float) -> str:
    """A number as a person writes it: 12, 0.65, 10,000,000, 1e+308."""
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}"


def _check_numeric(estates: pd.DataFrame, column: str, source: str, *, integer: bool = False,
                   required: bool = True, positive: bool = False):
    low, high, _ = CSV_BOUNDS[column]
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
    allowed = f"({'above' if positive else 'at least'} {_number(low)}, at most {_number(high)})"
    problems = [((finite <= low) if positive else (finite < low), f"must be in range {allowed}"),
                (finite > high, f"must be in range {allowed}")]
    if integer:
        problems.append((finite != np.floor(finite), "must be a whole number"))
    for bad, what in problems:
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(source, column, f"row {row + 2}: {_shown(finite[row])} {what}")
    estates[column] = values


def validate_estates(estates: pd.DataFrame, source: str) -> None:
    """Check an estates table in place (types, ranges, unique ids, known housing types).

    Ranges are CSV_BOUNDS'.
    """
    estates.index = pd.RangeIndex(len(estates))
    ids = estates["estate_id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        row = int(np.flatnonzero((ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy())[0])
        raise InputError(source, "estate_id", f"row {row + 2}: empty value")
    estates["estate_id"] = ids.astype(str).str.strip()
    blocks = estates["block"].astype(str) if "block" in estates else pd.Series([], dtype=str)
    for column, values, what, bad in (
            ("estate_id", estates["estate_id"], "'+' (it joins the ids of merged estates into an area's id)",
             estates["estate_id"].str.contains("+", regex=False)),
            ("estate_id", estates["estate_id"], f"more than {MAX_ID_CHARS} characters",
             estates["estate_id"].str.len() > MAX_ID_CHARS),
            ("block", blocks, f"more than {MAX_ID_CHARS} characters", blocks.str.len() > MAX_ID_CHARS)):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(source, column, f"row {row + 2}: {shown(values.iloc[row])} has {what}; "
                             "give it a shorter or other name")
    duplicated = estates["estate_id"].duplicated()
    if duplicated.any():
        raise InputError(source, "estate_id",
                         f"duplicate estate_id {estates['estate_id'][duplicated].iloc[0]!r}")
    _check_numeric(estates, "households", source, integer=True)
    _check_numeric(estates, "floor_area_m2", source, positive=True)
    _check_numeric(estates, "x_m", source)
    _check_numeric(estates, "y_m", source)
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
    for column in ("gates", "fee_yuan_per_m2", "fund_yuan", "condition"):
        if column in estates:
            _check_numeric(estates, column, source, required=False, integer=column == "gates")


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


def fit_size_counts(households: np.ndarray, under_100: int, under_200: int) -> np.ndarray:
    """Sizes with exactly `under_100` below 100 and `under_200` below 200 households, order kept.

    A monotone map of the drawn sizes (piecewise linear in log size, through the gaps between the
    ranks that must fall on either side of 100 and of 200), so the smallest estates stay the
    smallest and the sizes far from the thresholds barely move. Unchanged when the drawn sizes
    already have those counts. Raises ValueError if the counts are impossible.
    """
    h = np.asarray(households, dtype=float)
    n = len(h)
    if not 0 <= under_100 <= under_200 <= n:
        raise ValueError(f"needs 0 <= under 100 ({under_100}) <= under 200 ({under_200}) <= {n} estates")
    if (h < 100).sum() == under_100 and (h < 200).sum() == under_200:
        return h
    order = np.argsort(h, kind="stable")
    log_sorted = np.log(np.maximum(h[order], 1.0))
    lo, hi = log_sorted[0] - 1.0, log_sorted[-1] + 1.0

    def gap(k: int) -> float:  # a point between rank k-1 and rank k (below all / above all at the ends)
        if k == 0:
            return lo + 0.5
        if k == n:
            return hi - 0.5
        return 0.5 * (log_sorted[k - 1] + log_sorted[k])

    knots_x = [lo, gap(under_100), gap(under_200), hi]
    knots_y = [np.log(100.0) - (knots_x[1] - lo), np.log(100.0), np.log(200.0), max(hi, np.log(200.0) + 1)]
    if knots_x[2] <= knots_x[1]:  # no estate between the thresholds: any point strictly between
        knots_x[2] = knots_x[1] + 1e-9
    mapped = np.round(np.exp(np.interp(log_sorted, knots_x, knots_y)))
    rank = np.arange(n)  # rounding must not carry an estate across a threshold
    mapped = np.where(rank < under_100, np.clip(mapped, 1, 99),
                      np.where(rank < under_200, np.clip(mapped, 100, 199), np.maximum(mapped, 200)))
    out = np.empty(n)
    out[order] = mapped
    return out


def ouyang_road(params: Params | None = None) -> District:
    """The built-in Ouyang Road subdistrict: 106 estates in nine blocks before the merger programme.

    The named estates keep their sizes; the others are drawn by housing type and then fitted
    (fit_size_counts) to `preset_estates_under_200` and `preset_estates_under_100`, uncertain
    inputs the article bounds but does not give (docs/ODD.md, the preset).
    """
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
    named_h = np.array(households[:len(named)])
    try:
        households[len(named):] = fit_size_counts(
            np.array(households[len(named):]),
            int(params.preset_estates_under_100) - int((named_h < 100).sum()),
            int(params.preset_estates_under_200) - int((named_h < 200).sum()))
    except ValueError as err:
        raise PresetError("preset_estates_under_100", f"the named estates fix {int((named_h < 100).sum())} "
                          f"under 100 and {int((named_h < 200).sum())} under 200 households; {err}") from None
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


DISTRICT_GROUPS = ("housing", "preset")
"""Parameter groups a district is built from: a scenario rebuilds its district when one changes."""


class PresetError(ValueError):
    """Parameters a preset cannot honour (load_preset names the scenario file and the key)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


PRESETS = {"ouyang_road": ouyang_road,  # sim/shanghai.py builds on this module: imported on use
           "shanghai": lambda params=None: __import__("sim.shanghai", fromlist=["_"]).shanghai(params)}
"""Built-in districts by name (the vectorized engine's issue adds `shanghai`)."""


def load_preset(name: str, params: Params, source: str = "<scenario>") -> District:
    """A built-in district by name; an unknown name is an InputError."""
    if name not in PRESETS:
        raise InputError(source, "district.preset",
                         f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    try:
        district = PRESETS[name](params)
    except PresetError as err:
        raise InputError(source, f"params.{err.key}", err.message) from None
    return District(district.name, fill_defaults(district.estates, params))
