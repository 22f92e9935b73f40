"""Data pipeline: datasets, samplers and the loader (``eigengrad.data``, like ``torch.utils.data``)."""
from eigengrad.data import transforms
from eigengrad.data.collate import default_collate, default_convert
from eigengrad.data.dataloader import DataLoader, get_worker_info
from eigengrad.data.dataset import (
    ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset, random_split,
)
from eigengrad.data.distributed import DistributedSampler
from eigengrad.data.sampler import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split",
           "DataLoader", "default_collate", "default_convert", "get_worker_info", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "DistributedSampler", "transforms"]
