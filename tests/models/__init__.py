"""Tests of tl_keras's models."""
