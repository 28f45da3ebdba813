"""Serializable layers: pixel preprocessing and TF Hub modules."""
