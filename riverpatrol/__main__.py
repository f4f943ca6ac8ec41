"""``python -m riverpatrol`` == ``riverpatrol``."""

from riverpatrol.cli import main

main()
