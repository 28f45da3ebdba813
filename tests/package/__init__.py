"""Tests of the package as a whole: its API, logging, versions, install, examples."""
