"""Models: the TransferModel classes, heads, build_model, text models, word vectors."""
