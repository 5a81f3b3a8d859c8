"""stylecast compute library: networks, losses, training, flow, warping, inference backends.

Tensors in, tensors out. Conventions (checked at module boundaries by :mod:`models.contracts`):
frames ``(N,3,H,W)`` RGB in [0,1] (float16 on GPU, float32 on CPU); flow ``(N,2,H,W)``
float32 in pixels (channel 0 = x/u, channel 1 = y/v); masks ``(N,1,H,W)`` in [0,1]. numpy
``HxWx3`` uint8 appears only at I/O boundaries (:mod:`models.io`).
"""
