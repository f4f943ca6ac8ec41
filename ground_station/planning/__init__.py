"""Patrol planning: passes along a river that cover its width, mission files, battery check."""
