"""Behavioural priors: every assumption has a prior range with an argument, sampled with the posterior."""

from __future__ import annotations

import pytest
from test_compare_ranking import FLOAT, WHOLE, posterior_sweep

from sim.errors import InputError
from sim.experiments.executors import make_executor
from sim.experiments.posterior import prior_ranges
from sim.experiments.sweep import load_sweep, run_sweep
from sim.params import PARAMETER_INDEX, PARAMETERS, PRIOR_EXEMPT, PRIORS, Params


def test_every_uncalibrated_assumption_has_a_prior_range_with_an_argument():
    for param in PARAMETERS:
        assumption = param.source.strip().lower().startswith("assumption")
        if not assumption or param.calibrated or param.name in PRIOR_EXEMPT:
            continue
        assert param.prior_low is not None and param.prior_high is not None, param.name
        assert param.prior_low < param.prior_high, param.name
        assert param.prior_source.strip(), param.name
        # a prior stays inside what the parameter may take, and holds the default
        Params({param.name: param.kind(param.prior_low)})
        Params({param.name: param.kind(param.prior_high)})
        assert param.prior_low <= param.default <= param.prior_high, param.name


def test_calibrated_parameters_and_switches_have_no_prior():
    for param in PARAMETERS:
        if param.calibrated or param.name in PRIOR_EXEMPT:
            assert param.prior_low is None, param.name
    assert PRIOR_EXEMPT, "the mechanism switches are exempt"


def test_the_satisfaction_weights_other_than_quality_reach_zero():
    for name in ("weight_heard", "weight_condition", "weight_safety"):
        assert PARAMETER_INDEX[name].prior_low == 0.0
    assert PARAMETER_INDEX["weight_quality"].prior_low > 0.0
    assert PRIORS["weight_heard"][2]


def test_ordered_pairs_of_priors_cannot_cross():
    def p(name):
        return PARAMETER_INDEX[name]
    for low, high in [("committee_lapse_threshold", "committee_form_threshold"),
                      ("weak_firm_capability_low", "weak_firm_capability_high"),
                      ("weak_firm_capability_high", "strong_firm_capability_low"),
                      ("strong_firm_capability_low", "strong_firm_capability_high"),
                      ("renovation_threshold", "repair_threshold"),
                      ("repair_threshold", "repair_target")]:
        assert p(low).prior_high <= p(high).prior_low, (low, high)


def test_posterior_with_priors_varies_assumptions_jointly_and_keeps_the_sets(tmp_path):
    plain = load_sweep(posterior_sweep(tmp_path / "plain"))
    both = load_sweep(posterior_sweep(tmp_path / "both", assumptions="priors", draws=2))
    assert len(both.design) == 2 * len(plain.design)
    ranges = prior_ranges(exclude=[FLOAT, WHOLE])
    assert set(both.factors["assumption_ranges"]) == set(ranges)
    for i, point in enumerate(both.design):
        # set i // 2 of the plain design, its calibrated values untouched
        assert point[FLOAT] == plain.design[i // 2][FLOAT] and point[WHOLE] == plain.design[i // 2][WHOLE]
        for name, (low, high) in ranges.items():
            assert low <= point[name] <= high, name
            assert isinstance(point[name], PARAMETER_INDEX[name].kind)
    # the two draws of one set differ, and the design is the same on reloading (seeded)
    assert both.design[0]["weight_heard"] != both.design[1]["weight_heard"]
    again = load_sweep(posterior_sweep(tmp_path / "again", assumptions="priors", draws=2))
    assert again.design == both.design
    # the factor names include the assumptions: runs.parquet gets their columns
    assert "weight_heard" in both.factor_names and both.factor_names[:2] == [FLOAT, WHOLE]


def test_draws_without_priors_is_an_error(tmp_path):
    with pytest.raises(InputError) as err:
        load_sweep(posterior_sweep(tmp_path, draws=3))
    assert err.value.key == "factors.draws"


def test_a_posterior_sweep_with_priors_runs_and_records_the_draws(tmp_path):
    path = posterior_sweep(tmp_path, assumptions="priors", sets=1)
    sweep = load_sweep(path)
    summary = run_sweep(sweep, tmp_path / "results", make_executor(1, None, None))
    assert not summary.failed
    from analysis.results import load_runs

    runs = load_runs(tmp_path / "results")
    assert runs["weight_heard"].nunique() == 1
    assert float(runs["weight_heard"].iloc[0]) == pytest.approx(sweep.design[0]["weight_heard"])
