"""Exports: the layout, SavedModel and its signatures, warmup, TFLite, check_export."""
