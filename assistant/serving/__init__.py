"""Serving the assistant: the HTTP API, the Gradio web chat, MCP and the embeddable widget."""
