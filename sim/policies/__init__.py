"""The policies of the yearly round, one module each, and the registry that orders them.

How to add a policy (nothing in either engine changes):

1. Write a module here with a subclass of `Policy`: its scenario key (`name`), a `label`, the
   scenario keys it reads (`keys`, each mapped to a parameter of sim/params.py's table, where a
   new parameter gets its unit, default and source), `options` (further scenario keys that are
   not parameters), `eligible(office, state)`, and what it does: `run` (the yearly round),
   `propose` (open reform cases while the street office has room) and `advance` (move a case
   on). It acts only through the street office (`office.procure`, `office.hold_vote`,
   `office.open_case`) and the area-state interface (sim/area_state.py): views, `assign_firm`,
   `merge_areas`, `set_area_flags`, `set_fee`, `set_reputation`, `set_transfer` (money paid to
   an area's firm or households each month, for a purpose), `add_firm`, `log` (with a message
   from sim/events.py).
2. Put an instance in REGISTRY below, where it belongs in the round.
3. A scenario can now say `policy: {your_name: {enabled: true, ...}}`; the app, `estate-sim bench`
   and the ODD's tables pick it up from the registry. Add its tests and a line in docs/ODD.md.

For an experiment, `with REGISTRY.added(MyPolicy()):` registers a policy for a `with` block.
"""

from sim.policies.base import AreaView, FirmView, Policy, ReformCase, Registry
from sim.policies.block_integration import BlockIntegration
from sim.policies.common import best_bidder, evaluation_scores, small_open, struggling
from sim.policies.entrust import Entrust
from sim.policies.management_merge import ManagementMerge
from sim.policies.merge import Merge, merge_groups, merge_groups_by_block
from sim.policies.self_governance import SelfGovernance

REGISTRY = Registry([BlockIntegration(), Merge(), ManagementMerge(), Entrust(), SelfGovernance()])
"""The policies in the order the street office takes them: block integration first (its
evaluation reads last year's firms), then reform cases for merging into one area, merging in
management only, entrusting and self-governance, so that a small area gets the first arrangement
it is eligible for: a group that can merge fully is proposed for that before sharing a firm, and
a single struggling area that no group takes is entrusted."""

__all__ = ["REGISTRY", "AreaView", "FirmView", "Policy", "ReformCase", "Registry", "best_bidder",
           "evaluation_scores",
           "merge_groups", "merge_groups_by_block", "small_open", "struggling"]
