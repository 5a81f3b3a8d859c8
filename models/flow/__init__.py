"""Optical flow: estimators (DIS, DeepFlow), .flo/PNG files, backward warping, consistency weights."""
