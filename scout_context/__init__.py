"""scout-context: long-context analysis with Llama 4 Scout."""

__version__ = "0.1.0"
