"""Tests of the command line, the demo and the plots."""
