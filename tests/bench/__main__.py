"""`python -m tests.bench [options]`: the benchmark, run from the project's root.

The bench is not an installed app, so it sets Django up itself (with the desk's
settings, as manage.py does) before importing the modules that touch models.
"""

import os
import sys

import django


def run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()
    # Imported only now: the measuring modules import models at import time,
    # which needs the app registry that django.setup() fills.
    from tests.bench.command import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
