"""`python -m tl_keras`: the `tl-keras` command."""

import sys

from tl_keras.cli import main

if __name__ == "__main__":
    sys.exit(main())
