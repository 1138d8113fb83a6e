"""The vectorized engine: the same model over numpy arrays, for large districts and sweeps."""

from sim.vector_engine.model import VectorModel

__all__ = ["VectorModel"]
