"""Data: image files, image and text datasets, fingerprints for the feature cache."""
