"""A fault-injecting TCP proxy between controllers, driven by a test (issue 12 item 8).

One listening port per directed link i → j: node i reaches node j's controller listener at `port(i, j)`, so each
node's `controller.quorum.voters` names its peers by proxy ports. A link carries the connections node i opens to
node j: i's bytes (requests) forward, j's bytes (responses) back.

`cut(src, dst)` stops every byte from src to dst, whichever node opened the connection:
- connections of link src → dst are closed and new ones refused (accepted, then closed at once: src cannot reach
  dst);
- connections of link dst → src are closed, and new ones are accepted and forwarded to src, but src's answers are
  dropped (dst's requests arrive, nothing comes back: a blackhole in one direction).
`heal(src, dst)` lets bytes flow again and closes the connections that dropped bytes (their byte stream lost a
piece, so the Kafka framing in it is broken). `isolate(n)` / `heal_all()` for whole nodes. Cuts in one direction
only make asymmetric partitions.

    proxy = FaultProxy({1: 9001, 2: 9002, 3: 9003})   # node id → real controller port
    voters_of_1 = proxy.voters(1, own_port=9001)        # "1@127.0.0.1:9001,2@127.0.0.1:<p(1,2)>,3@..."
    proxy.isolate(1); ...; proxy.heal_all(); proxy.close()
"""

from __future__ import annotations

import socket
import threading

HOST = "127.0.0.1"


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.dropped = False  # some bytes were dropped: the stream is broken, close it on heal

    def close(self) -> None:
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class _Link:
    """Connections node `src` opens to node `dst`, through one listening port."""

    def __init__(self, src: int, dst: int, target_port: int):
        self.src, self.dst, self.target_port = src, dst, target_port
        self.forward_cut = False  # src → dst bytes stopped: refuse connections
        self.backward_cut = False  # dst → src bytes stopped: drop answers
        self.lock = threading.Lock()
        self.connections: set[_Connection] = set()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, name=f"proxy {src}->{dst}", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.forward_cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            connection = _Connection(client, upstream)
            try:
                upstream.settimeout(None)
                for s in (client, upstream):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # the client gave up meanwhile: this link must go on accepting
                connection.close()
                continue
            with self.lock:
                if self.closed:
                    connection.close()
                    return
                self.connections.add(connection)
            threading.Thread(target=self._pump, args=(connection, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(connection, False), daemon=True).start()

    def _pump(self, connection: _Connection, forward: bool) -> None:
        source, sink = (connection.client, connection.upstream) if forward else (connection.upstream,
                                                                                  connection.client)
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.forward_cut if forward else self.backward_cut:
                    connection.dropped = True
                    continue
                if connection.dropped:
                    break  # its stream lost bytes during a cut that has ended: close it (heal may have missed it)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            connection.close()
            with self.lock:
                self.connections.discard(connection)

    def close_connections(self, only_dropped: bool = False) -> None:
        with self.lock:
            victims = [c for c in self.connections if c.dropped or not only_dropped]
        for connection in victims:
            connection.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.close()
        except OSError:
            pass
        self.close_connections()


class FaultProxy:
    """A proxy link for every ordered pair of nodes; `targets` maps node id → its real controller port."""

    def __init__(self, targets: dict[int, int]):
        self.targets = dict(targets)
        self.links = {(i, j): _Link(i, j, targets[j]) for i in targets for j in targets if i != j}

    def port(self, src: int, dst: int) -> int:
        """The port node `src` dials to reach node `dst`."""
        return self.links[(src, dst)].port

    def voters(self, node: int) -> str:
        """`controller.quorum.voters` as node `node` sees it: itself directly, its peers through the proxy."""
        return ",".join(f"{j}@{HOST}:{self.targets[j] if j == node else self.port(node, j)}"
                        for j in sorted(self.targets))

    def cut(self, src: int, dst: int) -> None:
        """No byte from `src` reaches `dst` any more (either connection direction)."""
        forward, backward = self.links[(src, dst)], self.links[(dst, src)]
        forward.forward_cut = True
        backward.backward_cut = True
        forward.close_connections()
        backward.close_connections()

    def heal(self, src: int, dst: int) -> None:
        forward, backward = self.links[(src, dst)], self.links[(dst, src)]
        forward.forward_cut = False
        backward.backward_cut = False
        forward.close_connections(only_dropped=True)
        backward.close_connections(only_dropped=True)

    def isolate(self, node: int) -> None:
        """`node` and every other node stop hearing each other."""
        for other in self.targets:
            if other != node:
                self.cut(node, other)
                self.cut(other, node)

    def heal_all(self) -> None:
        # Every cut ends before any connection is closed: healing link by link would leave a moment in which a
        # connection's forward bytes flow while its answers are still dropped.
        for link in self.links.values():
            link.forward_cut = link.backward_cut = False
        for link in self.links.values():
            link.close_connections(only_dropped=True)

    def close(self) -> None:
        for link in self.links.values():
            link.close()


class Gate:
    """One proxied port in front of one listener (a node's replication listener, advertised at `port`): `close()`
    drops every connection through it and refuses new ones until `open()` — nobody reaches that listener, while
    its other listeners (the clients') stay reachable."""

    def __init__(self, target_port: int):
        self.link = _Link(0, 0, target_port)
        self.port = self.link.port

    def close(self) -> None:
        self.link.forward_cut = True
        self.link.close_connections()

    def open(self) -> None:
        self.link.forward_cut = False

    def shutdown(self) -> None:
        self.link.close()
