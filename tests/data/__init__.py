"""Tests of tl_keras's data."""
