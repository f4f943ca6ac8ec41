"""Sockets, as ArduPilot SITL offers them: a TCP server (several clients) and UDP out to GCSs.

Non-blocking, driven by one ``selectors`` poll from the server loop; no threads. Every link
has its own MAVLink encoder (its own sequence numbers, as an ArduPilot channel does) and its
own parser, so a client sending garbage only disturbs its own stream. A UDP out socket sends
to a fixed ``host:port`` from an ephemeral port and reads whatever comes back to that port,
which is how MAVProxy and QGroundControl answer ``--out 127.0.0.1:14550``.

A TCP client that stops reading has its backlog capped (``MAX_BACKLOG`` bytes); beyond that,
messages to it are dropped, as a radio with a full buffer drops them, and counted.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

log = logging.getLogger("riverpatrol.sim.vehicle.links")

MAX_BACKLOG = 512 * 1024
RECV_SIZE = 65536


def _parser() -> mavlink2.MAVLink:
    p = mavlink2.MAVLink(None)
    p.robust_parsing = True
    return p


@dataclass
class Link:
    """One MAVLink peer channel: a TCP client or a UDP out destination."""

    name: str
    kind: str  # "tcp" or "udp"
    sock: socket.socket
    encoder: mavlink2.MAVLink
    parser: mavlink2.MAVLink = field(default_factory=_parser)
    dest: tuple[str, int] | None = None  # UDP destination
    outbuf: bytearray = field(default_factory=bytearray)
    sent: int = 0
    received: int = 0
    bad: int = 0
    dropped_backlog: int = 0
    peers: set = field(default_factory=set)


class Links:
    """All endpoints of one vehicle; :meth:`poll` reads, :meth:`send` writes to every link."""

    def __init__(
        self,
        *,
        tcp_host: str = "127.0.0.1",
        tcp_port: int | None = 5760,
        udp_out: list[tuple[str, int]] | None = None,
        sysid: int = 1,
        compid: int = 1,
    ) -> None:
        self.tcp_host = tcp_host
        self.tcp_port_wanted = tcp_port
        self.udp_out = list(udp_out or [])
        self.sysid = sysid
        self.compid = compid
        self.sel = selectors.DefaultSelector()
        self.server: socket.socket | None = None
        self.links: list[Link] = []
        self._n = 0
        self.on_event: Callable[[str, dict], None] = lambda _e, _f: None
        self.bad_total = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def open(self) -> None:
        if self.tcp_port_wanted is not None:
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((self.tcp_host, self.tcp_port_wanted))
            srv.listen(8)
            srv.setblocking(False)
            self.sel.register(srv, selectors.EVENT_READ, None)
            self.server = srv
        for host, port in self.udp_out:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", 0))
            s.setblocking(False)
            link = Link(f"udp:{host}:{port}", "udp", s, self._encoder(), dest=(host, port))
            self.sel.register(s, selectors.EVENT_READ, link)
            self.links.append(link)

    def close(self) -> None:
        for link in list(self.links):
            self._drop(link, "shutdown", log_it=False)
        if self.server is not None:
            self.sel.unregister(self.server)
            self.server.close()
            self.server = None
        self.sel.close()

    @property
    def tcp_port(self) -> int | None:
        return self.server.getsockname()[1] if self.server is not None else None

    @property
    def udp_local_ports(self) -> list[int]:
        return [lk.sock.getsockname()[1] for lk in self.links if lk.kind == "udp"]

    @property
    def tcp_clients(self) -> int:
        return sum(1 for lk in self.links if lk.kind == "tcp")

    def _encoder(self) -> mavlink2.MAVLink:
        return mavlink2.MAVLink(None, srcSystem=self.sysid, srcComponent=self.compid)

    # --- reading ------------------------------------------------------------------------------

    def poll(self, timeout: float) -> list[tuple[Link, object]]:
        """Wait up to ``timeout`` s; accept, read and decode. Returns (link, message) pairs."""
        out: list[tuple[Link, object]] = []
        for key, events in self.sel.select(timeout):
            if key.data is None:
                self._accept()
                continue
            link: Link = key.data
            if events & selectors.EVENT_WRITE:
                self._flush_one(link)
            if events & selectors.EVENT_READ and link in self.links:
                self._read(link, out)
        return out

    def _accept(self) -> None:
        assert self.server is not None
        try:
            conn, addr = self.server.accept()
        except OSError:
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._n += 1
        link = Link(f"tcp:{addr[0]}:{addr[1]}", "tcp", conn, self._encoder())
        self.sel.register(conn, selectors.EVENT_READ, link)
        self.links.append(link)
        self.on_event("client connected", {"link": link.name, "clients": self.tcp_clients})

    def _read(self, link: Link, out: list) -> None:
        try:
            if link.kind == "tcp":
                data = link.sock.recv(RECV_SIZE)
                if not data:
                    self._drop(link, "closed by peer")
                    return
                self._decode(link, data, out)
            else:
                while True:
                    try:
                        data, addr = link.sock.recvfrom(RECV_SIZE)
                    except BlockingIOError:
                        break
                    if addr not in link.peers:
                        link.peers.add(addr)
                        self.on_event("udp peer", {"link": link.name, "peer": f"{addr[0]}:{addr[1]}"})
                    self._decode(link, data, out)
        except BlockingIOError:
            return
        except OSError as e:
            if link.kind == "tcp":
                self._drop(link, f"error: {e}")
            # UDP: an ICMP "port unreachable" from a GCS not started yet; keep sending

    def _decode(self, link: Link, data: bytes, out: list) -> None:
        try:
            msgs = link.parser.parse_buffer(data) or []
        except Exception:  # pymavlink raises on some malformed input even when robust
            link.parser = _parser()
            link.bad += 1
            self.bad_total += 1
            return
        for m in msgs:
            if m.get_type() == "BAD_DATA":
                link.bad += 1
                self.bad_total += 1
            else:
                link.received += 1
            out.append((link, m))

    # --- writing ------------------------------------------------------------------------------

    def send(self, msgs: list, drop: Callable[[], bool] | None = None) -> int:
        """Pack and send ``msgs`` on every link; ``drop()`` decides loss per link and message."""
        sent = 0
        for link in list(self.links):
            enc = link.encoder
            enc.srcSystem = self.sysid
            chunks = []
            for m in msgs:
                if drop is not None and drop():
                    continue
                buf = m.pack(enc)
                enc.seq = (enc.seq + 1) % 256
                chunks.append(buf)
            if not chunks:
                continue
            if link.kind == "udp":
                for buf in chunks:
                    try:
                        link.sock.sendto(buf, link.dest)
                        link.sent += 1
                        sent += 1
                    except OSError:
                        pass
            else:
                if len(link.outbuf) > MAX_BACKLOG:
                    link.dropped_backlog += len(chunks)
                    continue
                link.outbuf += b"".join(chunks)
                link.sent += len(chunks)
                sent += len(chunks)
                self._flush_one(link)
        return sent

    def _flush_one(self, link: Link) -> None:
        if link.kind != "tcp" or link not in self.links:
            return
        if link.outbuf:
            try:
                n = link.sock.send(link.outbuf)
                del link.outbuf[:n]
            except BlockingIOError:
                pass
            except OSError as e:
                self._drop(link, f"error: {e}")
                return
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if link.outbuf else 0)
        try:
            if self.sel.get_key(link.sock).events != want:
                self.sel.modify(link.sock, want, link)
        except (KeyError, ValueError):
            pass

    def _drop(self, link: Link, why: str, log_it: bool = True) -> None:
        if link in self.links:
            self.links.remove(link)
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(link.sock)
        link.sock.close()
        if log_it and link.kind == "tcp":
            self.on_event("client disconnected", {"link": link.name, "why": why, "clients": self.tcp_clients})
