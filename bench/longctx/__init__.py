"""Long-context quality harness for scout-context: needles in real corpora, code questions.

    python -m bench.longctx --help        (from the repository root)
    python bench/longctx/run.py --help    (the same, as a script)

Modules: `needles` (needle, multi-needle and two-hop cases built into real corpus text and
laid out as `naive`, `stable` or `edges`), `code` (gold-file recall of the ranking and answer
accuracy on bench/longctx/questions/code.json), `run` (the command line, the engine loop,
the tables, the JSON), `record` (runs merged into a compact record under bench/results/,
kept in git). See bench/README.md.
"""
