"""Shared fixtures."""

import pytest
from sklearn.datasets import make_blobs


@pytest.fixture
def blobs():
    X, _ = make_blobs(500, n_features=4, centers=4, random_state=3)
    return X
