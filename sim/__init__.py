"""estate-sim: an agent-based simulator of how small residential estates are governed.

It models Shanghai's Ouyang Road subdistrict, which merged small estates (小小区), entrusted
isolated ones to strong firms and combined specialised service with resident self-governance
(China Construction News, 2023-01-16). See docs/ODD.md for the model description.
"""

__version__ = "0.1.0"
