"""Scenario files (YAML): reading, strict validation and resolution into a runnable Scenario.

The format is MODEL.md's contract. Unknown keys, wrong types and out-of-range values raise
InputError naming the file and the dotted key. Policy-block parameters are entries of the
parameter table (``policy.merge.max_group`` is ``merge_max_group``), so their types and ranges
come from that one table.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from sim.districts import District, generate_district, load_preset, read_district_csv
from sim.errors import InputError
from sim.params import HOUSING_TYPES, PARAMETER_INDEX, Params, coerce_parameter
from sim.policies import REGISTRY

MAX_YEARS = 100
"""Longest run a scenario (or a --years flag) may ask for."""
SEED_LIMIT = 2**63
"""Seeds are whole numbers in [0, SEED_LIMIT): they fit a 64-bit signed integer column."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _policy_model(name: str, keys: dict[str, str]) -> type[BaseModel]:
    fields: dict[str, Any] = {"enabled": (bool, False)}
    for key, parameter in keys.items():
        param = PARAMETER_INDEX[parameter]
        kind = int if param.kind is int else float
        fields[key] = (kind | None, Field(None, ge=param.low, le=param.high, description=param.description))
    return create_model(f"{name.title().replace('_', '')}Policy", __base__=_Strict, **fields)


@functools.cache
def _scenario_model(policies: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]) -> type[BaseModel]:
    """The scenario file's schema for the registered policies (built once per registry state)."""
    models = {name: _policy_model(name, dict(keys)) for name, keys in policies}
    policy_spec = create_model(
        "PolicySpec", __base__=_Strict,
        **{name: (model, Field(default_factory=model)) for name, model in models.items()})
    return create_model("ScenarioSpec", __base__=ScenarioSpec,
                        policy=(policy_spec, Field(default_factory=policy_spec)))


class GenerateSpec(_Strict):
    """Parameters of the synthetic district generator."""

    estates: int = Field(ge=1, le=200_000)
    seed: int = Field(0, ge=0)
    estates_per_block: int = Field(12, ge=1, le=10_000)
    size_scale: float = Field(1.0, gt=0, le=100)
    mix: dict[str, float] | None = None

    @model_validator(mode="after")
    def _check_mix(self):
        if self.mix is not None:
            for name, share in self.mix.items():
                if name not in HOUSING_TYPES:
                    raise ValueError(f"mix: unknown housing type {name!r}")
                if share < 0:
                    raise ValueError(f"mix: share of {name} must be zero or more")
            if sum(self.mix.values()) <= 0:
                raise ValueError("mix: shares must add up to more than zero")
        return self


class DistrictSpec(_Strict):
    """Where a run's estates come from: exactly one of preset, csv, generate."""

    preset: str | None = Field(None, min_length=1)
    csv: str | None = Field(None, min_length=1)
    generate: GenerateSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("preset", "csv", "generate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of preset, csv, generate"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class ScenarioSpec(_Strict):
    """A scenario file as written (its `policy` block follows the registry: _scenario_model)."""

    name: str = Field(min_length=1)
    description: str = ""
    district: DistrictSpec
    years: int = Field(10, ge=1, le=MAX_YEARS)
    seed: int = Field(0, ge=0, lt=SEED_LIMIT)
    params: dict[str, Any] = Field(default_factory=dict)


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
    _district_cache: list = field(default_factory=list, repr=False, compare=False)

    @property
    def source(self) -> str:
        """How errors refer to this scenario: its file, or its name."""
        return str(self.path) if self.path else f"<scenario {self.name}>"

    def with_overrides(self, *, years: int | None = None, seed: int | None = None,
                       params: dict[str, Any] | None = None) -> Scenario:
        """A copy with the years, seed or some parameters changed (CLI flags, sweeps)."""
        if years is not None and not 1 <= years <= MAX_YEARS:
            raise InputError(self.source, "years", f"{years} is outside [1, {MAX_YEARS}]")
        if seed is not None and not 0 <= seed < SEED_LIMIT:
            raise InputError(self.source, "seed", f"{seed} is outside [0, 2**63)")
        merged = self.params.overridden()
        for name, value in (params or {}).items():
            merged[name] = coerce_parameter(name, value, source=self.source)
        # housing-type defaults fill the district's missing columns: changing one rebuilds it
        rebuild = any(PARAMETER_INDEX[name].group == "housing" for name in (params or {}))
        return Scenario(self.name, self.description, self.district, self.policies,
                        self.years if years is None else years,
                        self.seed if seed is None else seed, Params(merged, source=self.source),
                        self.path, [] if rebuild else self._district_cache)

    def load_district(self) -> District:
        """The district's estates (loaded once and kept)."""
        if not self._district_cache:
            self._district_cache.append(_load_district(self.district, self.params, self.source))
        return self._district_cache[0]

    def to_dict(self) -> dict[str, Any]:
        """The scenario as resolved: every parameter's value, for run.json and the hash."""
        return {
            "name": self.name,
            "description": self.description,
            "district": self.district,
            "policies": self.policies,
            "years": self.years,
            "seed": self.seed,
            "params": dict(self.params),
        }

    def hash(self) -> str:
        """SHA-256 of the resolved scenario (seed excluded: runs of one scenario share it)."""
        resolved = {k: v for k, v in self.to_dict().items() if k != "seed"}
        return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()


def _load_district(spec: dict[str, Any], params: Params, source: str) -> District:
    if "preset" in spec:
        return load_preset(spec["preset"], params, source)
    if "csv" in spec:
        path = Path(spec["csv"])
        if not path.is_file():
            raise InputError(source, "district.csv", f"file not found: {path}")
        return read_district_csv(path, params)
    return generate_district(params=params, **spec["generate"])


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; errors name the file."""
    source = str(path)
    if path.is_dir():
        raise InputError(source, None, "is a folder, not a file")
    if not path.is_file():
        raise InputError(source, None, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, None, f"cannot read the file ({exc})") from None
    if not text.strip():
        raise InputError(source, None, "the file is empty")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(source, where, f"YAML syntax error: {problem}") from None
    if data is None:
        raise InputError(source, None, "the file is empty")
    if not isinstance(data, dict):
        raise InputError(source, None, f"must be a mapping of keys to values, got a {type(data).__name__}")
    return data


def first_validation_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted key, message) of a pydantic error, in words a scenario author understands."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or None
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
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
        key, message = first_validation_error(exc)
        raise InputError(str(path), key, message) from None


def scenario_from_mapping(data: dict[str, Any], source: str, base_dir: Path | None) -> Scenario:
    """Validate a scenario mapping and resolve it; errors name ``source`` and the key."""
    registered = REGISTRY.parameters()
    schema = _scenario_model(tuple((name, tuple(keys.items())) for name, keys in registered.items()))
    try:
        spec = schema.model_validate(data)
    except ValidationError as exc:
        key, message = first_validation_error(exc)
        raise InputError(source, key, message) from None
    overrides: dict[str, Any] = {}
    for name, value in spec.params.items():
        overrides[name] = coerce_parameter(str(name), value, source=source)
    policies = {}
    for block, keys in registered.items():
        block_spec = getattr(spec.policy, block)
        policies[block] = block_spec.enabled
        for key, name in keys.items():
            value = getattr(block_spec, key)
            if value is None:
                continue
            if name in overrides:
                raise InputError(source, f"policy.{block}.{key}",
                                 f"also set as params.{name}; set it in one place")
            overrides[name] = coerce_parameter(name, value, source=source)
    district = spec.district.model_dump(exclude_none=True)
    if "csv" in district:
        district["csv"] = str(((base_dir or Path.cwd()) / district["csv"]).resolve())
    return Scenario(spec.name, spec.description, district, policies, spec.years, spec.seed,
                    Params(overrides, source=source), Path(source) if base_dir else None)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve a scenario file, loading its district to check it too."""
    path = Path(path)
    scenario = scenario_from_mapping(read_yaml_mapping(path), str(path), path.resolve().parent)
    scenario.load_district()
    return scenario
