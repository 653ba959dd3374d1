"""Answers checked by Llama Guard 4 (`--guard`): its prompt format, hazard categories and
verdicts (`llama_guard`), and the check itself through any engine of the registry (`check`).
"""
