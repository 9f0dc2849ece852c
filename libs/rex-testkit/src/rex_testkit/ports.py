"""Free TCP ports on the loopback interface."""

import socket


def free_port() -> int:
    """A TCP port nobody listens on right now (another process may still take it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
