"""Simulation: Genesis scene, target motion, radar echo model (Eqs. 1-3) and labels (Eqs. 55-58)."""
