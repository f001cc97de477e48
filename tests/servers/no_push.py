"""A loopback relay in front of Dovecot that swallows IDLE push: what a mailbox gets from a
Dovecot past its inotify limit (``fs.inotify.max_user_instances``, 128 per Unix user by
default), which accepts IDLE and then never says that mail came.

Every byte passes unchanged except untagged ``* n EXISTS`` lines from the server; literals
(message bodies) are passed through whole, so a body that happens to hold such a line is left
alone.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading

from tests.servers import free_port

_EXISTS = re.compile(rb"^\* \d+ EXISTS\r\n$")
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


class NoPushRelay:
    host = "127.0.0.1"

    def __init__(self, target_port: int):
        self.target_port, self.port = target_port, free_port()
        self._listener = socket.create_server((self.host, self.port))
        self._sockets: list[socket.socket] = [self._listener]
        self._threads: list[threading.Thread] = []
        self.swallowed = 0

    def start(self) -> None:
        self._spawn(self._accept)

    def stop(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection((self.host, self.target_port))
            self._sockets += [client, server]
            self._spawn(self._pipe, client, server)
            self._spawn(self._filter, server, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _filter(self, source: socket.socket, sink: socket.socket) -> None:
        reader = source.makefile("rb")
        with contextlib.suppress(OSError, ValueError):
            while line := reader.readline():
                if _EXISTS.match(line):
                    self.swallowed += 1
                    continue
                sink.sendall(line)
                literal = _LITERAL.search(line)
                if literal:
                    sink.sendall(reader.read(int(literal.group(1))))
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
