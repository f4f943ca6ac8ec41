"""ground_station component."""
