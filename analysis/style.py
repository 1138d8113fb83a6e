"""One look for every figure: a fixed colour and label per policy, units on axes."""

from __future__ import annotations

POLICY_COLOURS = {
    "status_quo": "#6b6b6b",
    "n_in_1": "#1f77b4",
    "strong_leads_weak": "#ff7f0e",
    "self_governance": "#2ca02c",
    "integrated": "#d62728",
}
POLICY_LABELS = {
    "status_quo": "Status quo",
    "n_in_1": "N-in-1 merger",
    "strong_leads_weak": "Strong leads weak",
    "self_governance": "Specialised service + self-governance",
    "integrated": "Integrated (Ouyang Road)",
}
METRIC_LABELS = {
    "service_quality": "Service quality (0-1)",
    "fee_collection_rate": "Fee collection rate (share of fees due)",
    "satisfaction": "Residents' satisfaction (0-1)",
    "active_firms": "Property firms active",
    "cost_per_household": "Cost of service (yuan/household/month)",
    "rc_workload": "Residents' committee workload (complaints/1000 hh/month)",
    "management_areas": "Management areas",
    "firm_margin": "Firms' operating margin",
    "volunteer_rate": "Volunteers (share of households)",
    "committee_coverage": "Households with an owners' committee (share)",
}
_EXTRA = ["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def colour(policy: str) -> str:
    """The policy's colour (other names get a stable colour of their own)."""
    if policy in POLICY_COLOURS:
        return POLICY_COLOURS[policy]
    return _EXTRA[sum(map(ord, policy)) % len(_EXTRA)]


def label(policy: str) -> str:
    """The policy's readable name."""
    return POLICY_LABELS.get(policy, policy)
