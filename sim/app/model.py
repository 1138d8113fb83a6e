"""The teaching app's model: the Mesa engine with keyword parameters, for SolaraViz.

SolaraViz rebuilds a model on Reset by calling its class with keyword arguments, so
`TeachingModel` takes the district, the policy blocks, a few model parameters and the seed as
keywords and turns them into a Scenario. In side-by-side mode it also runs a second model over
the same district and seed under another policy set, stepped together with the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.mesa_engine.model import EstateGovernanceModel
from sim.params import PARAMETER_INDEX
from sim.policies import REGISTRY
from sim.scenario import Scenario, scenario_from_mapping

POLICY_SETS: dict[str, tuple[str, ...]] = {
    "status quo": (),
    "N-in-1 merger": ("merge",),
    "strong leads weak": ("entrust",),
    "self-governance": ("self_governance",),
    "integrated": ("merge", "entrust", "self_governance", "block_integration"),
}
"""The shipped scenarios' policy sets (scenarios/*.yaml), by the names the app shows."""

NO_COMPARISON = "nothing (one run)"
UPLOADED_CSV = "uploaded CSV"
DISTRICTS: dict[str, dict[str, Any]] = {
    "ouyang_road": {"preset": "ouyang_road"},
    "generated, 40 estates": {"generate": {"estates": 40, "seed": 7, "estates_per_block": 10}},
    "generated, 200 estates": {"generate": {"estates": 200, "seed": 7}},
}
"""Districts small enough to watch live (the Shanghai preset is for the vectorized engine)."""

MAX_APP_HOUSEHOLDS = 150_000
"""Largest district the app runs (about 0.5 s a month); larger ones belong to `estate-sim run`."""

DEFAULT_SEED = 1
"""Seed of a new run (the seed control goes from 1 to 100: one replicate each)."""


def policy_set_name(policies: dict[str, bool]) -> str:
    """The name of a policy set ("status quo", ...), or "custom: merge + entrust"."""
    enabled = tuple(block for block in REGISTRY.names() if policies.get(block))
    for name, blocks in POLICY_SETS.items():
        if set(blocks) == set(enabled):
            return name
    return "custom: " + " + ".join(block.replace("_", " ") for block in enabled)


def month_label(month: int) -> str:
    """Month 1, 2, ... of a run as "Year 1, month 1" (month 0 is the start)."""
    if month <= 0:
        return "Start"
    return f"Year {(month - 1) // 12 + 1}, month {(month - 1) % 12 + 1}"


def build_scenario(district: str = "ouyang_road", *, csv_path: str | None = None,
                   policies: dict[str, bool] | None = None, params: dict[str, Any] | None = None,
                   seed: int = DEFAULT_SEED, name: str | None = None) -> Scenario:
    """A Scenario from the app's controls; bad values raise InputError naming the control."""
    policies = {block: bool((policies or {}).get(block, False)) for block in REGISTRY.names()}
    if district == UPLOADED_CSV:
        if not csv_path:
            raise InputError("app", "district", "no CSV file uploaded yet")
        district_spec: dict[str, Any] = {"csv": str(Path(csv_path).resolve())}
    elif district in DISTRICTS:
        district_spec = DISTRICTS[district]
    else:
        raise InputError("app", "district", f"unknown district {district!r} "
                         f"(known: {', '.join([*DISTRICTS, UPLOADED_CSV])})")
    data = {
        "name": name or policy_set_name(policies),
        "district": district_spec,
        "policy": {block: {"enabled": on} for block, on in policies.items()},
        "years": 20,
        "seed": int(seed),
        "params": dict(params or {}),
    }
    scenario = scenario_from_mapping(data, "app", None)
    households = scenario.load_district().households
    if households > MAX_APP_HOUSEHOLDS:
        raise InputError("app", "district", f"{households:,} households is too many to watch live "
                         f"(at most {MAX_APP_HOUSEHOLDS:,}); use `estate-sim run` instead")
    return scenario


def _default(name: str) -> Any:
    return PARAMETER_INDEX[name].default


class TeachingModel(EstateGovernanceModel):
    """The estate-governance model with the app's controls as keyword parameters.

    `merge`, `entrust`, `self_governance` and `block_integration` switch the policy blocks; the
    other numeric keywords are model parameters by their documented names (sim/params.py). With
    `compare_with` naming a policy set, `self.comparison` runs that set on the same district and
    seed, stepped together with this model. (The signature is explicit, rather than **params,
    so that SolaraViz can check the controls against it and passes nothing else on Reset.)
    """

    def __init__(self, *, district: str = "ouyang_road", csv_path: str | None = None,
                 merge: bool = True,
                 merge_max_households: int = _default("merge_max_households"),
                 merge_max_group: int = _default("merge_max_group"),
                 merge_max_distance_m: float = _default("merge_max_distance_m"),
                 entrust: bool = True,
                 entrust_max_households: int = _default("entrust_max_households"),
                 entrust_reach_m: float = _default("entrust_reach_m"),
                 self_governance: bool = True,
                 organising_join_rate: float = _default("organising_join_rate"),
                 volunteer_fatigue: float = _default("volunteer_fatigue"),
                 block_integration: bool = True,
                 block_subsidy_yuan_per_household: float = _default("block_subsidy_yuan_per_household"),
                 evaluation_threshold: float = _default("evaluation_threshold"),
                 fee_after_sale_public: float = _default("fee_after_sale_public"),
                 fee_commodity: float = _default("fee_commodity"),
                 approval_area_share: float = _default("approval_area_share"),
                 fund_dispute_weight: float = _default("fund_dispute_weight"),
                 compare_with: str = NO_COMPARISON, rng: int = DEFAULT_SEED):
        arguments = dict(locals())
        params = {name: value for name, value in arguments.items() if name in PARAMETER_INDEX}
        policies = {block: arguments[block] for block in REGISTRY.names()}
        scenario = build_scenario(district, csv_path=csv_path, policies=policies, params=params,
                                  seed=rng)
        super().__init__(scenario, rng=int(rng))
        # the keywords this model was built with: the app shows them in its controls
        self.settings = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        self.comparison: EstateGovernanceModel | None = None
        if compare_with != NO_COMPARISON:
            if compare_with not in POLICY_SETS:
                raise InputError("app", "compare_with", f"unknown policy set {compare_with!r}")
            other = {block: block in POLICY_SETS[compare_with] for block in REGISTRY.names()}
            self.comparison = EstateGovernanceModel(
                build_scenario(district, csv_path=csv_path, policies=other, params=params,
                               seed=rng, name=compare_with), rng=int(rng))

    def step(self) -> None:
        """One month of this run and, in side-by-side mode, of the comparison run."""
        super().step()
        if self.comparison is not None:
            self.comparison.step()

    @property
    def runs(self) -> list[EstateGovernanceModel]:
        """The runs on show: this one, then the comparison run if there is one."""
        return [self] if self.comparison is None else [self, self.comparison]
