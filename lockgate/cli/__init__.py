"""The command line: the composition root. Command modules import heavy parts lazily."""
