"""Applications built on the estimators: colour quantization of images
(:mod:`.quantize`) and clustering of text documents (:mod:`.documents`)."""
