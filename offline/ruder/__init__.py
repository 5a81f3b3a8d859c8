"""Offline video stylization after Ruder, Dosovitskiy & Brox: "Artistic style transfer for
videos" (GCPR 2016) and "Artistic style transfer for videos and spherical images" (IJCV 2018).

Per-frame Gatys optimization initialised from the warped previous result, with a temporal loss
weighted by flow consistency (short- and long-term), a multi-pass variant, and a fast variant
that uses a trained feed-forward network plus bidirectional flow blending. All state lives in a
resumable job directory (:mod:`offline.ruder.job`).
"""
