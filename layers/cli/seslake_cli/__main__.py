"""`python -m seslake_cli`: the `seslake` command."""

import sys

from seslake_cli.commands import main

sys.exit(main())
