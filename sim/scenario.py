"""Scenario files (YAML): reading, strict validation and resolution into a runnable Scenario.

The format is in README.md ("Writing a scenario") and docs/SWEEPS.md. Unknown keys, wrong types
and out-of-range values raise InputError naming the file and the dotted key. Policy-block
parameters are entries of the parameter table (``policy.merge.max_group`` is
``merge_max_group``), so their types and ranges come from that one table.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from sim.districts import (
    DISTRICT_GROUPS,
    MAX_ESTATES,
    District,
    generate_district,
    load_preset,
    read_district_csv,
)
from sim.errors import InputError, not_a_file, shown
from sim.outputs import RECORD_CHOICES
from sim.params import HOUSING_TYPES, PARAMETER_INDEX, Params, coerce_parameter
from sim.policies import REGISTRY
from sim.text import default_label, did_you_mean

MAX_MIX_SHARE = 1e6
"""Largest share one housing type may have in ``generate.mix`` (shares are normalised)."""
MAX_NESTING = 50
"""Deepest nesting a scenario or sweep file may have (the formats need four levels)."""

MAX_YAML_BYTES = 10_000_000
"""Largest scenario, sweep, sensitivity or calibration file."""
MAX_YAML_VALUES = 100_000
"""Most values (scalars and collections, aliases expanded) such a file may hold."""
MAX_NAME_CHARS = 100
"""Longest scenario name, label, block name or key a file may give (names make file names)."""
MAX_YEARS = 100
"""Longest run a scenario (or a --years flag) may ask for."""
SEED_LIMIT = 2**63
"""Seeds are whole numbers in [0, SEED_LIMIT): they fit a 64-bit signed integer column."""


class StrictSpec(BaseModel):
    """The base of every file format's model: no unknown key, no coercion, no .inf or .nan.

    `.inf` and `.nan` are YAML floats; no value of any file may be either.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _policy_model(name: str) -> type[BaseModel]:
    policy = REGISTRY.get(name)
    fields: dict[str, Any] = {"enabled": (bool, False)}
    for key, parameter in policy.keys.items():
        param = PARAMETER_INDEX[parameter]
        kind = int if param.kind is int else float
        fields[key] = (kind | None, Field(None, ge=param.low, le=param.high, description=param.description))
    for key, (kind, default) in policy.options.items():
        fields[key] = (kind, default)
    return create_model(f"{name.title().replace('_', '')}Policy", __base__=StrictSpec, **fields)


@functools.cache
def _scenario_model(policies: tuple[str, ...]) -> type[BaseModel]:
    """The scenario file's schema for the registered policies (built once per registry state)."""
    models = {name: _policy_model(name) for name in policies}
    policy_spec = create_model(
        "PolicySpec", __base__=StrictSpec,
        **{name: (model, Field(default_factory=model)) for name, model in models.items()})
    return create_model("ScenarioSpec", __base__=ScenarioSpec,
                        policy=(policy_spec, Field(default_factory=policy_spec)))


class GenerateSpec(StrictSpec):
    """Parameters of the synthetic district generator."""

    estates: int = Field(ge=1, le=MAX_ESTATES)
    seed: int = Field(0, ge=0)
    estates_per_block: int = Field(12, ge=1, le=10_000)
    size_scale: float = Field(1.0, gt=0, le=100)
    mix: dict[str, float] | None = None

    @model_validator(mode="after")
    def _check_mix(self):
        if self.mix is not None:
            for name, share in self.mix.items():
                if name not in HOUSING_TYPES:
                    raise ValueError(f"mix: unknown housing type {name!r}"
                                     + did_you_mean(str(name), HOUSING_TYPES))
                if not 0 <= share <= MAX_MIX_SHARE:
                    raise ValueError(f"mix: share of {name} must be in [0, {MAX_MIX_SHARE:g}], "
                                     f"got {share!r}")
            if sum(self.mix.values()) <= 0:
                raise ValueError("mix: shares must add up to more than zero")
        return self


class DistrictSpec(StrictSpec):
    """Where a run's estates come from: exactly one of preset, csv, generate."""

    preset: str | None = Field(None, min_length=1)
    csv: str | None = Field(None, min_length=1)
    generate: GenerateSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        for key in ("preset", "csv"):
            if "\0" in (getattr(self, key) or ""):
                raise ValueError(f"{key}: the path contains a NUL character")
        given = [k for k in ("preset", "csv", "generate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of preset, csv, generate"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class ScenarioSpec(StrictSpec):
    """A scenario file as written (its `policy` block follows the registry: _scenario_model)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    label: str | None = Field(None, min_length=1, max_length=80)
    description: str = ""
    district: DistrictSpec
    district_name: str | None = Field(None, min_length=1, max_length=80)
    years: int = Field(10, ge=1, le=MAX_YEARS)
    seed: int = Field(0, ge=0, lt=SEED_LIMIT)
    params: dict[str, Any] = Field(default_factory=dict)
    variant: str | None = Field(None, description="a model variant's name (sim/variants.py)")
    record: list[Literal["estates", "areas", "groups"]] = Field(default_factory=list)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to run: policies on/off, resolved parameters, district source."""

    name: str
    description: str
    district: dict[str, Any]
    policies: dict[str, bool]
    years: int
    seed: int
    params: Params
    path: Path | None = None
    policy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each policy's further keys that are not parameters (e.g. block_integration.blocks)."""
    _district_cache: list = field(default_factory=list, repr=False, compare=False)
    label: str = ""
    """How figures and tables name the scenario (the file's ``label:``, else from its name)."""
    district_name: str = ""
    """How figures, tables and messages name the district (``district_name:``; else the preset's
    name or the CSV file's stem). Like ``label``, it does not change a run."""
    record: tuple[str, ...] = ()
    """Further monthly series the run keeps (sim.outputs.RECORD_CHOICES): ``estates`` and ``areas``
    (the `estate_series` and `area_series` tables), ``groups`` (the timeseries' columns by housing
    type and size class). They change no result."""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", default_label(self.name))

    def check_policy_options(self) -> None:
        """Options that name parts of the district (blocks) must exist in it."""
        blocks = self.policy_options.get("block_integration", {}).get("blocks")
        if blocks:
            known = [str(b) for b in dict.fromkeys(self.load_district().estates["block"])]
            for block in blocks:
                if block not in known:
                    raise InputError(self.source, "policy.block_integration.blocks",
                                     f"unknown block {block!r}{did_you_mean(str(block), known)} "
                                     f"(district {self.load_district().name} has {', '.join(known[:8])}"
                                     f"{', ...' if len(known) > 8 else ''})")

    @property
    def source(self) -> str:
        """How errors refer to this scenario: its file, or its name."""
        return str(self.path) if self.path else f"<scenario {self.name}>"

    def with_overrides(self, *, years: int | None = None, seed: int | None = None,
                       params: dict[str, Any] | None = None,
                       policies: dict[str, Any] | None = None) -> Scenario:
        """A copy with the years, seed, some parameters or policies changed (CLI flags, sweeps, API).

        ``policies`` maps a policy block to true/false (switch it on or off) or to a mapping as in
        a scenario file's ``policy:`` block, e.g. ``{"merge": {"enabled": True, "max_group": 4}}``.
        """
        years = None if years is None else whole_number(years, self.source, "years", 1, MAX_YEARS)
        seed = None if seed is None else whole_number(seed, self.source, "seed", 0, SEED_LIMIT - 1)
        for key, given in (("params", params), ("policies", policies)):
            if given is not None and not isinstance(given, Mapping):
                raise InputError(self.source, key,
                                 f"must be a mapping of names to values, got {shown(given)}")
        params = dict(params or {})
        switched = dict(self.policies)
        options = {name: dict(values) for name, values in self.policy_options.items()}
        for block, value in (policies or {}).items():
            switched[block], block_params, block_options = _policy_override(
                block, value, self.policies.get(block), self.source)
            options.setdefault(block, {}).update(block_options)
            for name, parameter_value in block_params.items():
                if name in params:
                    raise InputError(self.source, f"policy.{block}", f"also sets {name}, given in "
                                     "params too; set it in one place")
                params[name] = parameter_value
        merged = self.params.overridden()
        for name, value in params.items():
            merged[name] = _parameter(name, value, self.source)
        # the district is built from some parameters (housing-type defaults fill missing columns,
        # the preset's starting sizes shape it): changing one rebuilds it
        rebuild = any(PARAMETER_INDEX[name].group in DISTRICT_GROUPS for name in params)
        return replace(self, policies=switched, policy_options={k: v for k, v in options.items() if v},
                       years=self.years if years is None else years,
                       seed=self.seed if seed is None else seed,
                       params=Params(merged, source=self.source),
                       _district_cache=[] if rebuild else self._district_cache)

    def with_district(self, district: dict[str, Any], name: str | None = None) -> Scenario:
        """A copy on another district (a resolved ``district:`` mapping, see ``resolve_district``).

        ``name`` is its display name (a sweep's ``district_name:``); without it, the district's own.
        """
        return replace(self, district=district, district_name=name or "", _district_cache=[])

    def load_district(self) -> District:
        """The district's estates (loaded once and kept), named ``district_name`` if set."""
        if not self._district_cache:
            district = _load_district(self.district, self.params, self.source)
            if self.district_name:
                district = replace(district, name=self.district_name)
            self._district_cache.append(district)
        return self._district_cache[0]

    def to_dict(self) -> dict[str, Any]:
        """The scenario as resolved: every parameter's value, for run.json and the hash."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "district": self.district,
            "district_name": self.district_name,
            "policies": self.policies,
            "policy_options": self.policy_options,
            "years": self.years,
            "seed": self.seed,
            "params": dict(self.params),
        } | ({"record": list(self.record)} if self.record else {})

    def recording(self, record) -> Scenario:
        """A copy that also keeps these series (sim.outputs.RECORD_CHOICES; `record:` of a file)."""
        record = [record] if isinstance(record, str) else list(record or ())
        unknown = [r for r in record if r not in RECORD_CHOICES]
        if unknown:
            raise InputError(self.source, "record", f"unknown series {shown(unknown[0])} (choose from "
                             f"{', '.join(RECORD_CHOICES)})")
        return replace(self, record=tuple(r for r in RECORD_CHOICES if r in (*self.record, *record)))

    def hash(self) -> str:
        """SHA-256 of the resolved scenario (seed and names excluded: they do not change a run)."""
        resolved = {k: v for k, v in self.to_dict().items()
                    if k not in ("seed", "label", "district_name")}
        return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


def whole_number(value: Any, source: str, key: str, low: int, high: int) -> int:
    """`value` as an int in [low, high] (a numpy integer is one; a bool or 1.5 is not)."""
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(source, key, f"must be a whole number in [{low:,}, {high:,}], got {shown(value)}")
    if not low <= value <= high:
        raise InputError(source, key, f"{shown(value)} is outside [{low:,}, {high:,}]")
    return value


def _load_district(spec: dict[str, Any], params: Params, source: str) -> District:
    if "preset" in spec:
        return load_preset(spec["preset"], params, source)
    if "csv" in spec:
        path = Path(spec["csv"])
        problem = not_a_file(path)
        if problem:
            raise InputError(source, "district.csv", f"{problem}: {path}")
        return read_district_csv(path, params)
    return generate_district(params=params, **spec["generate"])


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping, or a key that is no scalar.

    Merge keys (``<<: *defaults``) are YAML's own: the keys they bring may be overridden.
    """


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            raise yaml.constructor.ConstructorError(
                None, None, f"a {kind} used as a key (keys are plain words)", key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_shape(text: str, source: str) -> None:
    """Refuse a document too deep or too large, aliases expanded, from its events alone.

    No recursion and no objects built: an alias (``*x``) counts as the whole of its anchor's
    value, so a 2 KB alias bomb that stands for a billion values is refused, not expanded.
    """
    depth = deepest = nodes = 0
    open_anchors: list[tuple[str | None, int, int]] = []  # (anchor, nodes before it, its depth)
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, depth) of its value
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            size, below = anchors.get(event.anchor, (1, 0))
            nodes += size
            deepest = max(deepest, depth + below)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            depth += 1
            deepest = max(deepest, depth)
            open_anchors.append((event.anchor, nodes - 1, depth))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before, started = open_anchors.pop()
            if anchor:
                anchors[anchor] = (nodes - before, deepest - started + 1)
            depth -= 1
        if deepest > MAX_NESTING:
            raise InputError(source, None, f"nested more than {MAX_NESTING} levels deep (aliases "
                             "expanded); the format needs four")
        if nodes > MAX_YAML_VALUES:
            raise InputError(source, None, f"holds more than {MAX_YAML_VALUES:,} values (aliases "
                             "expanded); a scenario or sweep needs a few hundred")


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; errors name the file."""
    source = str(path)
    problem = not_a_file(path)
    if problem:
        raise InputError(source, None, problem)
    if path.stat().st_size > MAX_YAML_BYTES:
        raise InputError(source, None, f"is larger than {MAX_YAML_BYTES // 1_000_000} MB; a scenario or "
                         "sweep file needs a few kilobytes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, None, f"cannot read the file ({exc})") from None
    if not text.strip():
        raise InputError(source, None, "the file is empty")
    try:
        _check_shape(text, source)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(source, where, f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise InputError(source, None, "nested too deeply to read") from None
    if data is None:
        raise InputError(source, None, "the file is empty")
    if not isinstance(data, dict):
        raise InputError(source, None, f"must be a mapping of keys to values, got a {type(data).__name__}")
    return data


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the model allows where `loc` (a pydantic error location) points."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}) or [])


def first_validation_error(exc: ValidationError,
                           model: type[BaseModel] | None = None) -> tuple[str, str]:
    """(dotted key, message) of a pydantic error, in words a scenario author understands."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or None
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        allowed = _allowed_keys(model, error["loc"]) if model is not None else []
        if allowed:
            message += did_you_mean(str(error["loc"][-1]), allowed)
    elif error["type"] in ("finite_number",):
        message = "must be a finite number (not .inf or .nan)"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] in ("dict_type", "model_type"):
        message = "must be a mapping (key: value pairs)"
    elif message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return key, message


def validate_file(path: Path, model: type[BaseModel]) -> Any:
    """Read a YAML mapping and validate it with a strict pydantic model; errors name file and key."""
    try:
        return model.model_validate(read_yaml_mapping(path))
    except ValidationError as exc:
        key, message = first_validation_error(exc, model)
        raise InputError(str(path), key, message) from None


def _parameter(name: str, value: Any, source: str, key: str | None = None) -> Any:
    """A parameter's value checked against the table, every way of being wrong an InputError.

    Numpy scalars (an API caller's ``np.float32(0.5)``) are their Python values. Non-finite
    numbers, numbers outside the table's range (however large) and values of another type are
    refused with the range; a message shows at most a few dozen characters of the value.
    """
    key = key or f"params.{name}"
    param = PARAMETER_INDEX.get(name)
    if param is None:
        raise InputError(source, key, "unknown parameter (see docs/ODD.md)"
                         + did_you_mean(str(name)[:MAX_NAME_CHARS], PARAMETER_INDEX))
    if isinstance(value, np.generic):
        value = value.item()
    if param.kind is bool:
        if not isinstance(value, bool):
            raise InputError(source, key, f"must be true or false, got {shown(value)}")
        return value
    allowed = f"[{param.low}, {param.high}] {param.unit}".strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(source, key, f"must be a number in {allowed}, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(source, key, f"{value!r} is not a finite number; allowed: {allowed}")
    if ((param.low is not None and value < param.low) or (param.high is not None and value > param.high)):
        raise InputError(source, key, f"{shown(value)} is outside {allowed}")
    try:
        return coerce_parameter(name, value, source=source)
    except InputError as exc:
        raise InputError(source, key, exc.message) from None


def scenario_from_mapping(data: dict[str, Any], source: str, base_dir: Path | None) -> Scenario:
    """Validate a scenario mapping and resolve it; errors name ``source`` and the key."""
    registered = REGISTRY.parameters()
    schema = _scenario_model(REGISTRY.names())
    try:
        spec = schema.model_validate(data)
    except ValidationError as exc:
        key, message = first_validation_error(exc, schema)
        raise InputError(source, key, message) from None
    overrides: dict[str, Any] = {}
    for name, value in spec.params.items():
        overrides[name] = _parameter(str(name), value, source)
    if spec.variant is not None:
        from sim.variants import variant_params

        for name, value in variant_params(spec.variant, source).items():
            if name in overrides:
                raise InputError(source, "variant", f"sets {name}, also set as params.{name}; set it in "
                                 "one place")
            overrides[name] = value
    policies = {}
    options: dict[str, dict[str, Any]] = {}
    for block, keys in registered.items():
        block_spec = getattr(spec.policy, block)
        policies[block] = block_spec.enabled
        options[block] = _checked_options(
            block, {key: getattr(block_spec, key) for key in REGISTRY.get(block).options}, source)
        for key, name in keys.items():
            value = getattr(block_spec, key)
            if value is None:
                continue
            if name in overrides:
                raise InputError(source, f"policy.{block}.{key}",
                                 f"also set as params.{name}; set it in one place")
            overrides[name] = _parameter(name, value, source, f"policy.{block}.{key}")
    return Scenario(spec.name, spec.description, resolve_district(spec.district, base_dir), policies,
                    spec.years, spec.seed, Params(overrides, source=source),
                    Path(source) if base_dir else None,
                    {name: values for name, values in options.items() if values}, label=spec.label or "",
                    district_name=spec.district_name or "",
                    record=tuple(r for r in RECORD_CHOICES if r in spec.record))


def resolve_district(spec: DistrictSpec, base_dir: Path | None) -> dict[str, Any]:
    """A validated ``district:`` block as a mapping, a CSV path made absolute from `base_dir`."""
    district = spec.model_dump(exclude_none=True)
    if "csv" in district:
        district["csv"] = str(((base_dir or Path.cwd()) / district["csv"]).resolve())
    return district


def _checked_options(block: str, options: dict[str, Any], source: str) -> dict[str, Any]:
    """A policy block's options, a list among them refused when empty or naming an item twice.

    An empty list (``blocks: []``) would read as "not given", which means every block; to leave
    a policy out, switch it off instead. A repeated item would count twice.
    """
    for key, value in options.items():
        if not isinstance(value, list):
            continue
        if not value:
            raise InputError(source, f"policy.{block}.{key}", "is empty: name at least one, leave the "
                             "key out for all, or switch the policy off (enabled: false)")
        repeated = next((item for i, item in enumerate(value) if item in value[:i]), None)
        if repeated is not None:
            raise InputError(source, f"policy.{block}.{key}", f"names {shown(repeated)} twice")
    return options


def _policy_override(block: str, value: Any, enabled: bool | None,
                     source: str) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    # One policy block of with_overrides: (enabled, the parameters it sets), checked like a file's;
    # a mapping without `enabled` keeps the block as it was.
    registered = REGISTRY.parameters()
    if block not in registered:
        raise InputError(source, f"policy.{block}",
                         f"unknown policy{did_you_mean(str(block), registered)} "
                         f"(choose from {', '.join(registered)})")
    if isinstance(value, bool):
        return value, {}, {}
    model = _policy_model(block)
    try:
        spec = model.model_validate(value)
    except ValidationError as exc:
        key, message = first_validation_error(exc, model)
        raise InputError(source, f"policy.{block}" + (f".{key}" if key else ""), message) from None
    keep = isinstance(value, dict) and "enabled" not in value
    block_params = {name: getattr(spec, key) for key, name in registered[block].items()
                    if getattr(spec, key) is not None}
    block_options = _checked_options(block, {key: getattr(spec, key) for key in REGISTRY.get(block).options
                                             if isinstance(value, dict) and key in value}, source)
    return (bool(enabled) if keep else spec.enabled), block_params, block_options


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve a scenario file, loading its district to check it too."""
    path = Path(path)
    scenario = scenario_from_mapping(read_yaml_mapping(path), str(path), path.resolve().parent)
    scenario.load_district()
    scenario.check_policy_options()
    return scenario
