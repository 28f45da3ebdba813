"""tl_keras's version: one place, read by the package, setup.cfg and the release check."""

__version__ = "0.3.0"
