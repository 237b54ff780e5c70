"""`python -m everymetre` runs the command line."""

from everymetre.cli.main import main

main()
