"""``pygrad.utils.data``: datasets and a single-process ``DataLoader`` with PyTorch's batching."""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate"]
