"""The edges and the composition root: configuration, CLI, HTTP server, console, delivery."""
