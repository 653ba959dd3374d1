"""Ranking evaluation over real corpora in several languages (issue 23): questions with gold
files, split by a fixed rule into a development half and a test half.

    python -m bench.ranking [--corpora flask,click] [--half dev|test|both] [--json OUT]

Modules: `questions_schema` (the question files' schema, loader and the dev/test rule),
`run` (the command line: pack each corpus once, rank every question, the tables and the JSON).
The questions are in questions/<corpus>.json; the rules in bench/results/ranking/DECLARED.md.
"""
