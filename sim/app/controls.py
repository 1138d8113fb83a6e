"""The app's controls and the lesson's presets (docs/TEACHING.md), in one place.

The policy blocks, their labels and their parameters come from the policy registry
(sim.policies.REGISTRY): a newly registered policy gets its checkbox here without a change.
Only the sliders' ranges are the app's own (POLICY_SLIDER_RANGES): a policy parameter without a
range here keeps its default in the app.
"""

from __future__ import annotations

from typing import Any

from sim.params import PARAMETER_INDEX
from sim.policies import REGISTRY


def _slider(label: str, low: float, high: float, step: float, help_text: str) -> dict[str, Any]:
    kind = "SliderInt" if all(float(v).is_integer() for v in (low, high, step)) else "SliderFloat"
    return {"type": kind, "label": label, "min": low, "max": high, "step": step, "help": help_text}


POLICY_SLIDER_RANGES: dict[str, dict[str, Any]] = {
    "merge_max_households": _slider("Largest estate that may merge (households)", 50, 600, 25,
                                    "Estates above this size are not proposed for a merger."),
    "merge_max_group": _slider("Most estates in one merger", 2, 6, 1,
                               "How many neighbouring estates one management area may join."),
    "merge_max_distance_m": _slider("Farthest apart (m)", 50, 1000, 25,
                                    "Estates further apart than this are not merged."),
    "entrust_max_households": _slider("Largest estate entrusted (households)", 50, 600, 25,
                                      "Estates above this size are not entrusted to a strong firm."),
    "entrust_reach_m": _slider("Lead firm's reach (m)", 100, 2000, 100,
                               "A strong firm takes on estates within this distance of its office."),
    "organising_join_rate": _slider("Organising: monthly chance to join", 0.0, 0.03, 0.001,
                                    "Chance a month that a household joins the volunteers when "
                                    "self-governance organises its estate."),
    "block_subsidy_yuan_per_household": _slider("Subsidy (yuan/household/month)", 0, 30, 1,
                                                "What the street office pays a block's firm for each "
                                                "household."),
    "reception_staff_hours_per_month": _slider("Reception point: staff-hours a month", 0, 300, 10,
                                               "Staff time of a block's joint reception point."),
    "evaluation_threshold": _slider("Evaluation score a firm must reach", 0.0, 0.8, 0.05,
                                    "A firm scoring below this in the yearly evaluation loses its "
                                    "block."),
}
"""The policy parameters the lesson changes, with their sliders (parameter name -> slider)."""

POLICY_OPTION_SLIDERS: dict[str, dict[str, tuple[str, Any, dict[str, Any]]]] = {
    "block_integration": {
        "block_start_year": ("start_year", 1, _slider("Rollout starts in year", 1, 10, 1,
                                                       "The year the first blocks join.")),
        "blocks_per_year": ("blocks_per_year", 0,
                            _slider("Blocks joining a year (0: all at once)", 0, 10, 1,
                                    "How fast the rollout reaches every block.")),
    },
}
"""Policy options (not model parameters) the lesson changes: block -> app setting -> (the policy's
option, the app's default, its slider). Block integration's rollout: the year it starts and how
many blocks join a year (sim/policies/block_integration.py); 0 blocks a year means every block at
once (the option unset)."""

LESSON_ORDER = ("merge", "management_merge", "entrust", "self_governance", "block_integration")
"""The order the lesson introduces the policies in (the registry's others follow)."""


def policy_controls() -> dict[str, dict[str, Any]]:
    """Policy block -> its checkbox label (from the registry) and its parameters' sliders.

    Read from the registry at each call, so a policy registered later (`REGISTRY.added`) shows.
    """
    names = REGISTRY.names()
    order = [n for n in LESSON_ORDER if n in names] + [n for n in names if n not in LESSON_ORDER]
    return {name: {"label": REGISTRY.get(name).label,
                   "params": {**{param: POLICY_SLIDER_RANGES[param]
                                 for param in REGISTRY.parameters()[name].values()
                                 if param in POLICY_SLIDER_RANGES},
                              **{setting: slider for setting, (option, _, slider)
                                 in POLICY_OPTION_SLIDERS.get(name, {}).items()
                                 if option in REGISTRY.get(name).options}}}
            for name in order}


def option_defaults() -> dict[str, Any]:
    """Each policy option's setting at the app's default (the policy's own default)."""
    return {setting: default for options in POLICY_OPTION_SLIDERS.values()
            for setting, (_, default, _) in options.items()}


def policy_options(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The scenario's policy options from the app's settings (block -> option -> value).

    An option at its "unset" value (blocks a year 0: all at once) is left out, so the policy's
    own default applies.
    """
    options: dict[str, dict[str, Any]] = {}
    for block, sliders in POLICY_OPTION_SLIDERS.items():
        for setting, (option, _, _) in sliders.items():
            value = settings.get(setting)
            if value is not None and not (option == "blocks_per_year" and not value):
                options.setdefault(block, {})[option] = int(value)
    return options


OTHER_SLIDERS: dict[str, dict[str, Any]] = {
    "merge_support": _slider("Votes: owners' support for a merger", 0.0, 1.0, 0.05,
                             "Base chance that an owner who votes says yes to a merger (briefings "
                             "and dissatisfaction add to it). Applies to both runs."),
    "approval_area_share": _slider("Votes: share of floor area that must approve", 0.3, 0.9, 0.05,
                                   "A merger passes only with this share of the floor area for it "
                                   "(and a turnout of 2/3 of the owners). Applies to both runs."),
    "fund_dispute_weight": _slider("Votes: strength of the fund dispute", 0.0, 3.0, 0.25,
                                   "How much owners of estates with more maintenance fund than their "
                                   "neighbours vote against pooling it. Applies to both runs."),
    "volunteer_fatigue": _slider("Volunteer fatigue (monthly chance to stop)", 0.0, 0.2, 0.01,
                                 "Chance a month that a volunteer stops. Applies to both runs."),
    "fee_after_sale_public": _slider("Fee, after-sale public housing (yuan/m²/month)", 0.3, 2.0, 0.05,
                                     "The fee standard of the old public estates. Applies to both "
                                     "runs."),
    "fee_commodity": _slider("Fee, commodity housing (yuan/m²/month)", 1.0, 5.0, 0.1,
                             "The fee standard of commodity estates. Applies to both runs."),
}
"""Model parameters outside the policy blocks that the lesson changes."""

SLIDERS: dict[str, dict[str, Any]] = {
    **POLICY_SLIDER_RANGES,
    **OTHER_SLIDERS,
}
"""Every parameter slider: model parameter name -> slider (type, label, range)."""

OPTION_SLIDERS: dict[str, dict[str, Any]] = {
    setting: slider for options in POLICY_OPTION_SLIDERS.values()
    for setting, (_, _, slider) in options.items()}
"""Every policy option's slider: app setting -> slider."""


def slider_positions(name: str) -> list[float]:
    """The values a slider stops at: its grid, the model's default and every lesson preset's value.

    A calibrated default (0.314) seldom sits on a readable grid (0.25); it gets a position of its
    own, so the slider shows the value the model runs.
    """
    spec = {**SLIDERS, **OPTION_SLIDERS}[name]
    count = int(round((spec["max"] - spec["min"]) / spec["step"]))
    grid = [spec["min"] + i * spec["step"] for i in range(count + 1)]
    extra = [PARAMETER_INDEX[name].default] if name in PARAMETER_INDEX else []
    extra += [preset[name] for preset in LESSON_PRESETS.values() if name in preset]
    values = sorted({round(v, 6) for v in [*grid, *extra]})
    return [int(v) if spec["type"] == "SliderInt" else v for v in values]


def policy_blocks() -> tuple[str, ...]:
    """The policy blocks the app offers: every registered policy, in the lesson's order."""
    return tuple(policy_controls())


def parameter_defaults() -> dict[str, Any]:
    """Each slider's parameter at the model's (calibrated) default."""
    return {name: PARAMETER_INDEX[name].default for name in SLIDERS}


NO_COMPARISON = "nothing (one run)"
DEFAULT_SEED = 1
ENGINES = ("vector", "mesa")
"""The app's engines: the vectorized one (fast enough for a class on one server) and the Mesa one
(one agent per household; about 70 times slower). Both run the same rules."""


def default_settings() -> dict[str, Any]:
    """Everything a run is built from, at the defaults: the page opens on the status quo."""
    return {
        "district": "ouyang_road", "csv_path": None, "engine": ENGINES[0],
        "compare_with": NO_COMPARISON, "rng": DEFAULT_SEED,
        **{block: False for block in policy_blocks()},
        **parameter_defaults(),
        **option_defaults(),
    }


ALL_POLICIES = {block: True for block in LESSON_ORDER}
NO_POLICY = {block: False for block in LESSON_ORDER}

LESSON_PRESETS: dict[str, dict[str, Any]] = {
    "Status quo": {**NO_POLICY, "compare_with": NO_COMPARISON},
    "Integrated vs status quo": {**ALL_POLICIES, "compare_with": "status quo"},
    "Group A: N-in-1 merger": {**NO_POLICY, "merge": True, "compare_with": "status quo"},
    "Group B: strong leads weak": {**NO_POLICY, "entrust": True, "compare_with": "status quo"},
    "Group C: self-governance": {**NO_POLICY, "self_governance": True, "compare_with": "status quo"},
    "Group D: block integration": {**NO_POLICY, "block_integration": True,
                                   "compare_with": "status quo"},
    "Harder votes": {**ALL_POLICIES, "compare_with": NO_COMPARISON, "approval_area_share": 0.75},
    "Fund dispute": {**ALL_POLICIES, "compare_with": NO_COMPARISON, "fund_dispute_weight": 0.0},
    "Tired volunteers": {**NO_POLICY, "self_governance": True, "compare_with": NO_COMPARISON,
                         "volunteer_fatigue": 0.15},
}
"""Each part of the lesson (docs/TEACHING.md) as the controls it sets; the rest go to defaults."""

KEPT_BY_PRESETS = ("district", "csv_path", "engine", "rng")
"""What a preset leaves as it is: the class's district, engine and seed."""


def preset_settings(name: str, current: dict[str, Any]) -> dict[str, Any]:
    """The settings of a lesson preset: defaults, the preset's changes, the current district and seed."""
    if name not in LESSON_PRESETS:
        raise KeyError(f"unknown preset {name!r} (known: {', '.join(LESSON_PRESETS)})")
    kept = {key: current[key] for key in KEPT_BY_PRESETS if key in current}
    return {**default_settings(), **LESSON_PRESETS[name], **kept}


def preset_of(settings: dict[str, Any]) -> str | None:
    """The preset these settings are, if any (so the page can show which part of the lesson runs)."""
    for name in LESSON_PRESETS:
        if preset_settings(name, settings) == settings:
            return name
    return None


def changed_settings(pending: dict[str, Any], running: dict[str, Any]) -> list[str]:
    """The controls whose value differs from the running model's (for "changes not applied")."""
    return [key for key in pending if pending[key] != running.get(key)]


def setting_label(name: str) -> str:
    """The control's label of a setting (English; the page translates it)."""
    spec = {**SLIDERS, **OPTION_SLIDERS}.get(name)
    if spec is not None:
        return spec["label"]
    return {"rng": "Random seed (replicate)", "engine": "Engine", "district": "District",
            "compare_with": "Compare with (side by side)"}.get(name, REGISTRY.get(name).label
                                                                if name in REGISTRY.names() else name)


def setup_caption(settings: dict[str, Any], names: list[str], lang: str) -> list[str]:
    """What a picture or a file was made with: the lesson, the runs, the seed, the changed settings.

    Every export carries these lines, so a student's homework says how to get the same run again.
    """
    from sim.app.i18n import tr

    preset = preset_of(settings)
    base = preset_settings(preset, settings) if preset else default_settings()
    changed = [f"{tr(setting_label(k), lang)} = {_shown(settings[k], lang)}" for k in settings
               if k not in ("csv_path",) and settings[k] != base.get(k)]
    if not preset:
        on = [tr(REGISTRY.get(b).label, lang) for b in policy_blocks() if settings.get(b)]
        changed = [f"{tr('Policies', lang)}: {', '.join(on) or tr('none', lang)}",
                   *[c for c in changed if not any(c.startswith(tr(REGISTRY.get(b).label, lang) + " =")
                                                   for b in policy_blocks())]]
    lines = [f"{tr('Lesson', lang)}: {tr(preset, lang) if preset else tr('own settings', lang)} · "
             f"{tr('District', lang)}: {tr(settings['district'], lang)} · "
             f"{tr('Random seed (replicate)', lang)}: {settings['rng']}",
             f"{tr('Runs', lang)}: {(' ' + tr('vs', lang) + ' ').join(names)}"]
    if changed:
        lines.append(f"{tr('Changed', lang)}: " + "; ".join(changed))
    return lines


def _shown(value: Any, lang: str) -> str:
    from sim.app.i18n import tr

    if isinstance(value, bool):
        return tr("on" if value else "off", lang)
    if isinstance(value, float):
        return f"{value:g}"
    return tr(str(value), lang)


def setup_link(settings: dict[str, Any]) -> str:
    """A link (query string) that opens the app on these settings: lesson, policies, values, seed.

    Only what differs from the defaults goes in; an uploaded district cannot travel in a link.
    """
    from urllib.parse import urlencode

    defaults = default_settings()
    shown = {k: v for k, v in settings.items()
             if k in defaults and k != "csv_path" and v != defaults[k] and v != UPLOADED_DISTRICT}
    return "?" + urlencode({k: int(v) if isinstance(v, bool) else v for k, v in shown.items()})


UPLOADED_DISTRICT = "uploaded CSV"


def settings_from_link(query: str) -> dict[str, Any]:
    """The settings a setup link names, on top of the defaults; unknown or bad values are left out."""
    from urllib.parse import parse_qsl

    settings = default_settings()
    for key, text in parse_qsl(query.lstrip("?")):
        default = settings.get(key)
        if key not in settings or key == "csv_path":
            continue
        try:
            value = (bool(int(text)) if isinstance(default, bool) else int(text) if isinstance(default, int)
                     else float(text) if isinstance(default, float) else text)
        except ValueError:
            continue
        settings[key] = value
    return settings
