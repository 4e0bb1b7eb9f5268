"""The `hubforge` console script: Django management commands under one name."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["hubforge", *sys.argv[1:]])


if __name__ == "__main__":
    main()
