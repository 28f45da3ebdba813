"""Tests of tl_keras's bases."""
