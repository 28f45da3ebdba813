"""Training: freezing, losses from labels, input checks, the feature cache, fit_two_phase."""
