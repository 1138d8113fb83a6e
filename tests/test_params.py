"""The parameter table is complete, and a scenario's policy blocks and `params:` reach the model."""

import pytest

from sim.errors import InputError
from sim.params import PARAMETER_INDEX, PARAMETERS
from sim.policies import REGISTRY
from sim.run import make_model
from sim.scenario import scenario_from_mapping

POLICY_KEYS = [(block, key, name) for block, keys in REGISTRY.parameters().items()
               for key, name in keys.items()]


@pytest.mark.parametrize("param", PARAMETERS, ids=[p.name for p in PARAMETERS])
def test_every_parameter_has_unit_source_description_and_a_default_in_range(param):
    assert param.unit.strip()
    assert param.source.strip()
    assert param.description.strip()
    assert type(param.default) in (bool, int, float)
    if param.low is not None and param.high is not None:
        assert param.low <= param.high
    if param.low is not None:
        assert param.default >= param.low
    if param.high is not None:
        assert param.default <= param.high


def test_parameter_names_are_unique():
    assert len(PARAMETER_INDEX) == len(PARAMETERS)


def small_scenario(policy=None, params=None, **extra):
    """A scenario of 16 small after-sale estates in two blocks (many merge candidates)."""
    return scenario_from_mapping({
        "name": "params", "years": 1, "seed": 2,
        "district": {"generate": {"estates": 16, "seed": 4, "estates_per_block": 8,
                                  "size_scale": 0.3, "mix": {"after_sale_public": 1.0}}},
        "policy": policy or {}, "params": params or {}, **extra,
    }, "scenario.yaml", None)


def a_valid_other_value(name: str):
    """A value of the parameter inside its range and different from its default."""
    param = PARAMETER_INDEX[name]
    for bound in (param.high, param.low):
        middle = (param.default + bound) / 2
        value = round(middle) if param.kind is int else float(middle)
        if value != param.default:
            return value
    raise AssertionError(f"{name} has an empty range")


@pytest.mark.parametrize(("block", "key", "name"), POLICY_KEYS,
                         ids=[f"{b}.{k}" for b, k, _ in POLICY_KEYS])
def test_a_policy_block_key_sets_its_parameter(block, key, name):
    value = a_valid_other_value(name)
    assert value != PARAMETER_INDEX[name].default

    scenario = small_scenario(policy={block: {"enabled": True, key: value}})

    assert scenario.params[name] == value
    assert scenario.policies[block] is True


@pytest.mark.parametrize("how", ["policy_block", "params"])
@pytest.mark.parametrize("max_group", [2, 4])
def test_merge_max_group_reaches_the_model(engine, how, max_group):
    # every estate of a block may join any group, and votes pass: only the group limit binds
    open_merging = {"fund_dispute_weight": 0.0, "merge_max_distance_m": 5000.0, "merge_support": 1.0,
                    "merge_fee_tolerance": 20.0, "merge_quality_tolerance": 1.0,
                    # every case at once, each completing in the month it opens
                    "reform_staff_hours_per_month": 100000.0, "merge_briefing_months": 0,
                    "fund_merge_months": 0, "committee_reorganise_months": 0}
    if how == "policy_block":
        scenario = small_scenario(policy={"merge": {"enabled": True, "max_group": max_group}},
                                  params=open_merging)
    else:
        scenario = small_scenario(policy={"merge": {"enabled": True}},
                                  params={"merge_max_group": max_group, **open_merging})
    model = make_model(scenario, engine)

    assert model.p.merge_max_group == max_group
    model.step()  # month 1: the street office opens every merger case and, without lags, completes it
    estates_per_area = model.areas_table()["estates"]
    assert estates_per_area.max() == max_group  # groups fill up to the limit, never beyond


def test_merge_max_group_in_both_places_is_an_error_naming_the_key():
    with pytest.raises(InputError) as raised:
        small_scenario(policy={"merge": {"enabled": True, "max_group": 4}},
                       params={"merge_max_group": 3})

    assert raised.value.source == "scenario.yaml"
    assert raised.value.key == "policy.merge.max_group"
    assert "params.merge_max_group" in str(raised.value)


def test_params_override_defaults_and_reach_the_model(engine):
    scenario = small_scenario(params={"fund_dispute_weight": 0.0, "worker_cost_yuan": 6000})
    model = make_model(scenario, engine)

    assert model.p.fund_dispute_weight == 0.0
    assert model.p.worker_cost_yuan == 6000.0
    assert model.p.merge_max_group == PARAMETER_INDEX["merge_max_group"].default
