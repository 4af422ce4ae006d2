"""Real SMTP servers on loopback: one (aiosmtpd) that keeps every message it receives, and
one that accepts connections and never says a word."""

import asyncio
import contextlib
import socket
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.support.ports import ReservedPort


class RecordingHandler:
    """An SMTP server's handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.received = threading.Event()
        # While set, every recipient is refused for good (550): a message the server rejects.
        self.refuse_recipients = False
        self.holding = threading.Event()
        self._hold: threading.Event | None = None

    def hold_next_message(self) -> threading.Event:
        """Keep the next message waiting after its DATA (`holding` is set meanwhile) until the
        event returned is set; every later message goes through at once."""
        self._hold = threading.Event()
        return self._hold

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        hold, self._hold = self._hold, None
        if hold is not None:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, hold.wait, 30)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"envelope": envelope, "message": message})
        self.received.set()
        return "250 Message accepted for delivery"


class _ControllerOnSocket(Controller):
    """aiosmtpd's controller, listening on a socket it is given rather than binding one."""

    def __init__(self, handler, sock, **smtp_options):
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **smtp_options)
        self._given_socket = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._given_socket)


class SmtpServer:
    """An SMTP server on a reserved port that can be stopped and started again.

    While it is stopped, the port stays reserved and refuses connections: a mail server down.
    One handler is kept across restarts, so `messages` holds everything that ever arrived.
    """

    def __init__(self, port: ReservedPort | None = None, *, smtputf8: bool = False):
        self._port = port or ReservedPort()
        self.port = self._port.port
        self.handler = RecordingHandler()
        self._controller = None
        # Whether the server offers SMTPUTF8, for addresses beyond ASCII.
        self._smtp_options = {"enable_SMTPUTF8": smtputf8}

    @property
    def messages(self):
        return self.handler.messages

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "SmtpServer":
        if self._controller is None:
            self._controller = _ControllerOnSocket(
                self.handler, self._port.hand_over(), **self._smtp_options
            )
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self._port.hold_again()

    def close(self) -> None:
        self.stop()
        self._port.close()


class SilentServer:
    """A mail server that accepts connections and never answers: it holds each one until
    `release()`, which closes them (the client then sees the server hang up)."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-smtp", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            self.held.append(connection)
            self.connected.set()

    def release(self) -> None:
        for connection in self.held:
            connection.close()
        self.held.clear()

    def close(self) -> None:
        self.release()
        # accept() does not wake up when its socket is closed: shut it down first.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
