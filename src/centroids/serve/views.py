"""JSON views of the store for the read endpoints and the explorer page."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np


def segments_view(store, version: int) -> dict:
    """A version's segments: id, name, description, size, share, and each one's profile
    against the population (numeric columns: the center, the population's mean and
    standard deviation, and the center's distance from the mean in standard deviations;
    categorical columns: each level's share in the segment and in the population)."""
    model = store.load(version)
    ids = store.segment_ids(version)
    names = store.segments()
    centers = store.centers(version)
    sizes = np.asarray(model.sizes_, dtype=np.int64)
    total = max(int(sizes.sum()), 1)
    segments = []
    for position, segment_id in enumerate(ids.tolist()):
        center = centers.loc[segment_id]
        numeric, categorical = [], []
        for spec in model.preparation_.specs:
            if spec.kind == "numeric":
                value = float(center[spec.name])
                std = float(spec.std)
                numeric.append(
                    {
                        "feature": spec.name,
                        "center": value,
                        "population_mean": float(spec.mean),
                        "population_std": std,
                        "z": (value - float(spec.mean)) / std if std > 0 else 0.0,
                    }
                )
            else:
                shares = list(spec.shares) or [None] * len(spec.levels)
                for level, population_share in zip(spec.levels, shares, strict=False):
                    column = f"{spec.name}={level}"
                    share = float(center[column]) if column in center.index else None
                    categorical.append(
                        {
                            "feature": spec.name,
                            "level": str(level),
                            "share": share,
                            "population_share": population_share,
                        }
                    )
        segments.append(
            {
                "segment_id": segment_id,
                "position": position,
                "name": names.loc[segment_id, "name"],
                "description": names.loc[segment_id, "description"],
                "size": int(sizes[position]),
                "share": int(sizes[position]) / total,
                "profile": {"numeric": numeric, "categorical": categorical},
            }
        )
    return {"version": version, "n_members": int(sizes.sum()), "segments": segments}


def map_view(store, version: int) -> dict:
    """Two principal components of the members sampled at save time, and of the centers."""
    from sklearn.decomposition import PCA

    sample = store.member_sample(version)
    model = store.load(version)
    ids = store.segment_ids(version)
    centers = np.asarray(model.centers_, dtype=np.float64)
    if sample is None:
        return {
            "version": version,
            "n_members": None,
            "points": [],
            "centers": [],
            "explained_variance_ratio": [],
            "note": "this version was saved without its data (SegmentStore.save), so no "
            "members were sampled; versions saved by `centroids segment`, a retrain job or "
            "SegmentStore.save_run have a map",
        }
    rows, segment_ids, n_members = sample
    n_components = int(min(2, rows.shape[1], max(rows.shape[0], 1)))
    pca = PCA(n_components=n_components, random_state=0).fit(rows if len(rows) else centers)
    points = pca.transform(rows) if len(rows) else np.empty((0, n_components))
    projected = pca.transform(centers)
    if n_components == 1:
        points = np.column_stack([points, np.zeros(len(points))])
        projected = np.column_stack([projected, np.zeros(len(projected))])
    return {
        "version": version,
        "n_members": n_members,
        "n_sampled": len(rows),
        "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
        "points": [
            {"x": round(float(x), 5), "y": round(float(y), 5), "segment_id": int(s)}
            for (x, y), s in zip(points, segment_ids.tolist(), strict=True)
        ],
        "centers": [
            {"x": float(x), "y": float(y), "segment_id": int(s)}
            for (x, y), s in zip(projected, ids.tolist(), strict=True)
        ],
    }


def drift_view(drift) -> dict:
    """A JSON form of :class:`centroids.store.drift.Drift` (its :meth:`~Drift.to_dict`)."""
    return drift.to_dict()


@cache
def explorer_page() -> str:
    """The explorer's HTML, one self-contained file (its script and styles inline)."""
    return resources.files("centroids.serve").joinpath("explorer.html").read_text("utf-8")
