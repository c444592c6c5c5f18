"""The edges: command line, Discord, Slack, and the DAW's HTTP/WebSocket server."""
