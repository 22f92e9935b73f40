"""Data pipeline: datasets and the loader (``eigengrad.data``, like ``torch.utils.data``)."""
from eigengrad.data.dataloader import DataLoader, default_collate
from eigengrad.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate"]
