"""The HTTP face: the server (/metrics, /api/status, /alerts/, /-/reload), the status page and the runbooks it
serves."""
