"""Offline, high-quality reprocessing of recordings: Ruder et al. video stylization, faces."""
