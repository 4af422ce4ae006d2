"""Ports on loopback that stay ours from the moment they are chosen.

Picking a free port, closing it and binding it again later leaves a gap in which another
process can take it. A `ReservedPort` keeps the port bound (but not listening, so a client
is refused at once, like a server that is down) until a server is handed the very socket.
"""

import socket
import time


def _bound_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A server that has just stopped leaves the port in TIME_WAIT; we may bind it again.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class ReservedPort:
    def __init__(self):
        self._socket: socket.socket | None = _bound_socket()
        self.port: int = self._socket.getsockname()[1]

    def hand_over(self) -> socket.socket:
        """The bound socket, for a server to listen on; it is the server's to close."""
        if self._socket is None:
            raise RuntimeError(f"port {self.port} was already handed to a server")
        sock, self._socket = self._socket, None
        return sock

    def hold_again(self, attempts: int = 50) -> None:
        """Bind the port again once its server has stopped, so it stays ours."""
        for _ in range(attempts):
            try:
                self._socket = _bound_socket(self.port)
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"port {self.port} was taken while its server was stopped")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
