"""Feeding models: :class:`Dataset`, :class:`TensorDataset` and :class:`DataLoader`, which
yields batches of tensors and plugs into ``model.fit(loader)``."""

from .dataset import Dataset, TensorDataset
from .loader import DataLoader, default_collate

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]
