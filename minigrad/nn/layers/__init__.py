"""Layers, one file per family (as PyTorch's ``torch/nn/modules``)."""
