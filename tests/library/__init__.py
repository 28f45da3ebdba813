"""Tests of tl_keras's library."""
