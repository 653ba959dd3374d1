"""Ranking evaluation over real corpora in several languages (issue 23): questions with gold
files, split by a fixed rule into a development half and a test half."""
