"""Umbrella of the ``riverpatrol`` command: composes each component's CLI, owns none of their logic."""
