"""`python -m scout_context_cli`: the same as the `scout-context` command."""

from .main import main

main()
