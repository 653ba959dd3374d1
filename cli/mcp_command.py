"""`scout-context mcp`: serve the tools to an MCP client over stdio (see scout_context.mcp_server)."""

from __future__ import annotations

from scout_context.errors import UsageError

from .help_text import CACHE, ENGINES, SOURCES, teaches


@teaches(
    "scout-context mcp  (started by the client: see the README for Claude Desktop, Cursor, VS Code)",
    environment=SOURCES | ENGINES | CACHE,
)
def mcp_command() -> None:
    """Serve pack, ask, token_tree and engine_plan to an MCP client (Claude Desktop, Cursor, VS Code) over stdio.

    The client starts it; stdin and stdout carry the protocol, logs go to stderr. Paths the
    tools get are the client's, relative ones to the folder the client starts it in.
    """
    try:
        from scout_context.mcp_server import serve
    except ImportError as error:  # the SDK comes with vLLM; a light install may lack it
        raise UsageError(f"the MCP server needs the mcp package (pip install 'mcp>=2.3'): {error}") from None
    serve()
