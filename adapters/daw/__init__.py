"""The DAW server\x27s parts: HTTP plumbing, REST API, live events, metrics, OpenAPI."""
