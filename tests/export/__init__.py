"""Tests of tl_keras's export."""
