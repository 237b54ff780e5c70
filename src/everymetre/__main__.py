"""`python -m everymetre` runs the command line."""

from everymetre.cli.main import app

app(prog_name="everymetre")
