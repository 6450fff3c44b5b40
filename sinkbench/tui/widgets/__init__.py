"""The dashboard's panes: each renders one slice of a `Frame`."""
