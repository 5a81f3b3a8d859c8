"""Styles: checkpoint files, the registry of bundled and user styles, procedural style images.

The bundled weights (``*.safetensors`` + ``*.json``) live beside these modules.
"""
