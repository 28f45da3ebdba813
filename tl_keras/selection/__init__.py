"""Choosing what to transfer: bases scored on the target data before training."""
