"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.support.ports import ReservedPort


class RecordingHandler:
    """An SMTP server's handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"envelope": envelope, "message": message})
        self.received.set()
        return "250 Message accepted for delivery"


class _ControllerOnSocket(Controller):
    """aiosmtpd's controller, listening on a socket it is given rather than binding one."""

    def __init__(self, handler, sock):
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1])
        self._given_socket = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._given_socket)


class SmtpServer:
    """An SMTP server on a reserved port that can be stopped and started again.

    While it is stopped, the port stays reserved and refuses connections: a mail server down.
    One handler is kept across restarts, so `messages` holds everything that ever arrived.
    """

    def __init__(self, port: ReservedPort | None = None):
        self._port = port or ReservedPort()
        self.port = self._port.port
        self.handler = RecordingHandler()
        self._controller = None

    @property
    def messages(self):
        return self.handler.messages

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> "SmtpServer":
        if self._controller is None:
            self._controller = _ControllerOnSocket(self.handler, self._port.hand_over())
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
