"""Temporal consistency of the live pipeline (blender, scene cuts) and flicker/fidelity metrics."""
