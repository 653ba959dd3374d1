"""The `scout-context` command line (installed as the `scout_context_cli` package)."""
