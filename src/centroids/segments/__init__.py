"""The segment application: a table's preparation, K-Means and segment names in one bundle.

:mod:`.segmentation` holds :class:`Segmentation` (preparation + model + names),
:mod:`.naming` the suggested names and descriptions, :mod:`.pipeline` the step-by-step
run behind ``centroids segment``.
"""
