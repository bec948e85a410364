"""The composition root: the one place where the write side, the read side and their
runners are assembled (HTTP app, command line, demo data)."""
