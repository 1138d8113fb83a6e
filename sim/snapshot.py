"""Shared burn-ins: a model's state at the end of its burn-in, kept to start other runs from.

Every run begins with `burn_in_years` of status quo (DistrictModel.burn_in) whatever its policies:
the burn-in reads the district, the seed, the engine and the parameters, never the policies or
their options, which act only from month 1. Runs that agree on those (a paired sweep's policies
for one seed) do the same burn-in; `BurnIn` holds its end state once, and each run continues
from its own copy (`BurnIn.model`), with the same random streams in the same state (the model's
numpy generator, and Mesa's, travel with it), so its results are byte-for-byte those of a run
that did its own burn-in.

The key (`burn_in_key`) holds every parameter but those only the reforms read
(sim.params.REFORM_ONLY: the policies' own, the merger votes', the reform cases'), each checked
by a test to leave the burn-in unchanged; the policies, their options, the years and the names
do not count either. A run from a burn-in made with other values of those parameters takes up
its own values from month 1 (DistrictModel.start_from_burn_in).

A snapshot file (``estate-sim burn-in``, read by ``run --start FILE``) is a short JSON header and
the model pickled: open only snapshot files you made yourself, as with any pickle.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sim import __version__
from sim.errors import InputError
from sim.params import REFORM_ONLY
from sim.scenario import Scenario

MAGIC = b"estate-sim burn-in\n"
FORMAT = 1
"""The snapshot file's format; a file of another format, or another package version, is refused."""
MAX_HEADER_BYTES = 1 << 20
HEADER_KEYS = {"format", "version", "key", "engine", "sha256"}


def engine_options(engine: str, model=None) -> dict[str, Any]:
    """What a model computes with besides the scenario: a new model's, or `model`'s.

    The vector engine's float type and compiled or numpy month (they round differently).
    """
    if engine != "vector":
        return {}
    if model is None:
        from sim.vector_engine import compiled

        return {"compiled": compiled.AVAILABLE, "dtype": "float32"}
    return {"compiled": bool(model.compiled), "dtype": str(model.dtype)}


def burn_in_key(scenario: Scenario, engine: str, inputs: dict[str, str] | None = None,
                options: dict[str, Any] | None = None) -> str:
    """SHA-256 of what a run's burn-in depends on: engine, seed, district, the parameters it reads.

    Every parameter counts but those only the reforms read (sim.params.REFORM_ONLY).

    `inputs` are the SHA-256 of the district's input files by key (a sweep's RunTask.inputs);
    without them a CSV district's file is read and hashed here. `options`: the engine's
    (engine_options), by default a new model's.
    """
    if inputs is None:
        csv = scenario.district.get("csv")
        inputs = {"district.csv": hashlib.sha256(Path(csv).read_bytes()).hexdigest()} if csv else {}
    params = {name: value for name, value in scenario.params.items() if name not in REFORM_ONLY}
    parts: dict[str, Any] = {"engine": engine, "seed": scenario.seed, "district": scenario.district,
                             "inputs": inputs, "params": params, "version": __version__,
                             "options": engine_options(engine) if options is None else options}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class _Pickler(pickle.Pickler):
    # A model holds a module (the street office's kernels) and, on large districts, a thread
    # pool: both are made anew where the snapshot is read.
    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        if isinstance(obj, ThreadPoolExecutor):
            return ThreadPoolExecutor, (obj._max_workers,)
        return NotImplemented


@dataclass(frozen=True)
class BurnIn:
    """A model's state at the end of its burn-in (month 0), and what it was made from."""

    key: str
    engine: str
    seed: int
    district: str
    payload: bytes = field(repr=False)
    """The model after its burn-in, pickled."""
    source: str = field(default="start", compare=False)
    """How errors name it: its file, or ``start``."""
    options: dict[str, Any] = field(default_factory=dict)
    """The model's engine options (engine_options): a run from it keeps them."""

    @classmethod
    def of(cls, model, scenario: Scenario, engine: str, key: str | None = None) -> BurnIn:
        """The state of `model`, made from `scenario` on `engine` and not stepped since its burn-in.

        `key`: its burn-in key if known (burn_in_key with the model's engine options).
        """
        if model.month != 0 or model.records:
            raise ValueError("a burn-in snapshot is taken before the run's first month")
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(model)
        options = engine_options(engine, model)
        return cls(key or burn_in_key(scenario, engine, options=options), engine, scenario.seed,
                   scenario.load_district().name, buffer.getvalue(), options=options)

    def check(self, scenario: Scenario, engine: str) -> None:
        """Refuse a scenario whose burn-in would differ (another seed, district, parameter or engine).

        Its run would not be the one it names.
        """
        source = self.source
        if engine != self.engine:
            raise InputError(source, "engine", f"the burn-in was made on the {self.engine} engine, "
                             f"not {engine}")
        if self.options.get("compiled") and not engine_options(engine)["compiled"]:
            raise InputError(source, "engine", "the burn-in was made with the compiled month, which "
                             "needs numba (pip install numba)")
        if burn_in_key(scenario, engine, options=self.options or None) != self.key:
            raise InputError(source, "scenario", f"the burn-in (seed {self.seed}, district "
                             f"{self.district}) was made for another seed, district or parameters than "
                             f"{scenario.source} with seed {scenario.seed}; make one with "
                             "`estate-sim burn-in`")

    def model(self, scenario: Scenario, engine: str):
        """A fresh copy of the model, set to run `scenario` from month 1 (its policies on)."""
        self.check(scenario, engine)
        model = pickle.loads(self.payload)
        model.start_from_burn_in(scenario)
        return model

    def save(self, path: str | Path) -> None:
        """Write the snapshot file (its folder made if need be): the header line (JSON), then the model."""
        header = {"format": FORMAT, "version": __version__, "key": self.key, "engine": self.engine,
                  "seed": self.seed, "district": self.district, "options": self.options,
                  "sha256": hashlib.sha256(self.payload).hexdigest()}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.partial-{os.getpid()}")  # a whole file, or none
        try:
            partial.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + self.payload)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> BurnIn:
        """Read a snapshot file; a missing, foreign or damaged file is an InputError naming it."""
        source = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(source, "start", f"cannot read the burn-in file ({exc.strerror})") from None
        if not data.startswith(MAGIC):
            raise InputError(source, "start", "not a burn-in file (make one with `estate-sim burn-in`)")
        end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER_BYTES)
        try:
            header = json.loads(data[len(MAGIC):end]) if end > 0 else None
        except (ValueError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or not HEADER_KEYS <= header.keys():
            raise InputError(source, "start", "damaged burn-in file (its header cannot be read)")
        if header["format"] != FORMAT or header["version"] != __version__:
            raise InputError(source, "start", f"made by estate-sim {header['version']} (format "
                             f"{header['format']}); this is {__version__}: make it again")
        payload = data[end + 1:]
        if hashlib.sha256(payload).hexdigest() != header["sha256"]:
            raise InputError(source, "start", "damaged burn-in file (its model is not the one it was "
                             "saved with)")
        return cls(str(header["key"]), str(header["engine"]), int(header.get("seed", -1)),
                   str(header.get("district", "?")), payload, source, dict(header.get("options") or {}))


CACHE_ENV = "ESTATE_SIM_BURN_IN_CACHE"
"""A folder where burn-ins are kept between processes (a test suite, a notebook run again): while
it is set, every run on a model with a burn-in starts from a copy of the one kept there for its
key, made and written there the first time. Runs from a copy are the runs that did their own."""


@cache
def code_hash() -> str:
    """SHA-256 of the simulator's source (every sim/**/*.py).

    A kept burn-in made by other code is never used, even within one package version.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_folder() -> Path | None:
    """The folder of kept burn-ins (CACHE_ENV), or None when it is not set."""
    folder = os.environ.get(CACHE_ENV, "").strip()
    return Path(folder) if folder else None


def make_burn_in(scenario: Scenario, engine: str, key: str | None = None) -> BurnIn:
    """Build the scenario's model (its burn-in done) and keep its state.

    With CACHE_ENV set, the state is read from that folder if it holds this key's burn-in for this
    code (code_hash), else made and written there (whole files only: BurnIn.save).
    """
    from sim.run import make_model

    folder = cache_folder()
    path = None
    if folder is not None:
        key = key or burn_in_key(scenario, engine)
        path = folder / f"{hashlib.sha256((key + code_hash()).encode()).hexdigest()}.burn-in"
        try:
            state = BurnIn.load(path)
            if state.key == key:
                return state
        except InputError:  # not kept yet, or damaged: made again
            pass
    state = BurnIn.of(make_model(scenario, engine, cache=False), scenario, engine, key)
    if path is not None:
        try:
            state.save(path)
        except OSError as exc:
            raise InputError(CACHE_ENV, str(folder), f"cannot keep a burn-in there ({exc.strerror}); "
                             "set it to a folder you can write, or unset it") from None
    return state


KEPT_BURN_INS = 8
"""How many burn-ins `kept_burn_in` keeps in a process (the most recently used)."""
_kept: dict[str, BurnIn] = {}


def kept_burn_in(scenario: Scenario, engine: str) -> BurnIn:
    """The scenario's burn-in, made the first time this process asks for its key and kept.

    For code that runs several scenarios on one seed one after another (the regression runs, the
    mechanism tests, validate-model's variants): each run starts from a copy of it.
    """
    key = burn_in_key(scenario, engine)
    state = _kept.pop(key, None) or make_burn_in(scenario, engine, key)
    _kept[key] = state  # the most recently used last
    while len(_kept) > KEPT_BURN_INS:
        del _kept[next(iter(_kept))]
    return state
