"""Shared fixtures, and hypothesis made reproducible."""

import os

import pytest
from hypothesis import settings
from sklearn.datasets import make_blobs

# Every run (here and in CI) draws the same hypothesis examples, so a run on a fresh
# machine checks exactly what passed here. Exploring new examples is a deliberate act:
# run with HYPOTHESIS_PROFILE=explore.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def blobs():
    X, _ = make_blobs(500, n_features=4, centers=4, random_state=3)
    return X
