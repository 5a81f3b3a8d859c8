"""Perceptual losses (pure functions) and the loss networks they run on (EfficientNet-Lite0, VGG16/19)."""
