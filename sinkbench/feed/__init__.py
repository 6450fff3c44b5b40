"""Feeding a real sink under test: producing into Iggy, appending to a file, writing to its stdin."""
