"""Tests of tl_keras's training."""
