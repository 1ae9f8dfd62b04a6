"""Test data sets: generated ones and scikit-learn's bundled ones, no downloads."""

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs
from sklearn.preprocessing import normalize


def tfidf_like(n_samples=1500, n_features=300, density=0.08, seed=0):
    """A CSR matrix shaped like TF-IDF: non-negative, sparse, rows of unit norm."""
    rng = np.random.RandomState(seed)
    X = sp.random(n_samples, n_features, density=density, format="csr", random_state=rng)
    X.data = rng.exponential(size=X.data.size)
    return normalize(X)


#: name -> (X, n_clusters); every set the agreement and quality tests run on.
DATASETS = {
    "blobs": (make_blobs(2000, n_features=5, centers=6, cluster_std=2.0, random_state=1)[0], 6),
    "iris": (load_iris().data, 3),
    "wine": (load_wine().data, 3),
    "digits": (load_digits().data, 10),
    "tfidf": (tfidf_like(), 10),
}
