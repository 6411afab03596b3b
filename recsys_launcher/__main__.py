"""`python -m recsys_launcher up`, the same as `python -m recsys up`."""

import sys

from recsys_launcher.cli import main

sys.exit(main())
