"""A TCP forwarder on loopback that a test can close and open again.

A server process given the forwarder's port in place of a service's (PostgreSQL,
say) loses that service when the test closes it: open connections are cut and new
ones are refused, as when the service's host goes away. Opened again, on the same
port, it forwards new connections as before.
"""

import contextlib
import select
import socket
import threading

from tests.server import free_port

CHUNK_BYTES = 65536
# How often the accepting and pumping loops look for a stop request.
POLL_SECONDS = 0.05


class TcpForwarder:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()

    @property
    def is_open(self) -> bool:
        return self._listener is not None

    def open(self) -> "TcpForwarder":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener,), name="forwarder-accept", daemon=True
        ).start()
        return self

    def close(self) -> None:
        """Refuse new connections and cut every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _cut(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                ready, _, _ = select.select([listener], [], [], POLL_SECONDS)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed under the loop
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _cut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(
                target=self._pump,
                args=(client, upstream),
                name="forwarder-pump",
                daemon=True,
            ).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while True:
                ready, _, _ = select.select(list(peers), [], [], POLL_SECONDS)
                for sock in ready:
                    data = sock.recv(CHUNK_BYTES)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # cut by close(), or by either end
            return
        finally:
            with self._lock:
                self._sockets.difference_update(peers)
            for sock in peers:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
