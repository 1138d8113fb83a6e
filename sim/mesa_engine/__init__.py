"""The Mesa engine: one Mesa agent per household, the reference for teaching and small districts."""

from sim.mesa_engine.model import EstateGovernanceModel

__all__ = ["EstateGovernanceModel"]
