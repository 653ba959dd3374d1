"""Code structure with tree-sitter: outlines, and the segments a file is packed in.

- `languages`: which languages have structure and the node types that make it
  (`language_for`, the rule tables);
- `parsing`: parsers per thread, the last parse reused, helpers on nodes;
- `outline`: a file's definitions (`outline`, as `scout_context.definition.Definition`s);
- `segments`: the consecutive segments a file is packed in (`segments`, `Segment`).

Lines are split at "\\n" only, as editors and git count them; tree-sitter rows agree.
Namespaces, Rust `mod` blocks and C preprocessor guards are looked through, so their
members are outlined and segmented like top-level code. Neither `outline` nor
`segments` raises: without a grammar, on a syntax error or past MAX_PARSE_BYTES they
fall back to what the text alone allows.
"""
