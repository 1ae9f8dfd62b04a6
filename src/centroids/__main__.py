"""``python -m centroids``: the ``centroids`` command."""

from .cli import main

main()
