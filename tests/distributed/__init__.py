"""Tests run on every rank of an MPI launch (see conftest.py and tests/test_distributed.py)."""
