"""Data pipeline: datasets, samplers and the loader (``eigengrad.data``, like ``torch.utils.data``)."""
from eigengrad.data import transforms
from eigengrad.data.dataloader import DataLoader, default_collate
from eigengrad.data.distributed import DistributedSampler
from eigengrad.data.dataset import Dataset, Subset, TensorDataset, random_split
from eigengrad.data.sampler import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "DistributedSampler", "transforms"]
