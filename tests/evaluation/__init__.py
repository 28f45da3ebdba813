"""Tests of tl_keras's evaluation."""
