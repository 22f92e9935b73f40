"""Preprocessing fitted on the training set and applied unchanged to test data (``eg.preprocessing``)."""
from eigengrad.preprocessing.scalers import MinMaxScaler, StandardScaler
from eigengrad.preprocessing.whitening import PCAWhitening

__all__ = ["StandardScaler", "MinMaxScaler", "PCAWhitening"]
