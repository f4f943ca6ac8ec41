"""cloud component."""
