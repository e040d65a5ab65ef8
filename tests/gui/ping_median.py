"""Measures ping round trips with python3-websockets, as an independent reference.

Usage: ping_median.py URL COUNT
Prints the median round trip in microseconds. websockets' sans-I/O client builds
the handshake and the (masked) ping frames and parses the answers; the socket is
a plain blocking one, so the figure is the time from handing the ping's bytes to
the kernel to having read the pong's, with as little of Python's own overhead in
it as Python allows (websockets' asyncio client adds several task switches).
"""
import socket
import statistics
import sys
import time

from websockets.client import ClientConnection
from websockets.frames import OP_PONG, Frame
from websockets.uri import parse_uri

# Between pings, as the C++ side of the test pauses.
PAUSE = 0.001


def pump_until(sock, connection, done):
    """Reads until `done(event)` holds for an event; returns (event, time read)."""
    while True:
        data = sock.recv(65536)
        read_at = time.perf_counter()
        if not data:
            raise RuntimeError("the server closed the connection")
        connection.receive_data(data)
        for event in connection.events_received():
            if done(event):
                return event, read_at


def measure(url, count):
    uri = parse_uri(url)
    sock = socket.create_connection((uri.host, uri.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection = ClientConnection(uri)
    connection.send_request(connection.connect())
    sock.sendall(b"".join(connection.data_to_send()))
    pump_until(sock, connection, lambda event: not isinstance(event, Frame))

    round_trips = []
    for i in range(count + 1):  # the first one warms the path up
        payload = b"py %d" % i
        connection.send_ping(payload)
        data = b"".join(connection.data_to_send())
        sock.sendall(data)
        sent_at = time.perf_counter()
        _, read_at = pump_until(
            sock, connection,
            lambda event: isinstance(event, Frame) and event.opcode == OP_PONG
            and event.data == payload)
        if i > 0:
            round_trips.append((read_at - sent_at) * 1e6)
        time.sleep(PAUSE)
    connection.send_close(1000)
    sock.sendall(b"".join(connection.data_to_send()))
    sock.close()
    return statistics.median(round_trips)


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    print("%.1f" % measure(url, count), flush=True)


if __name__ == "__main__":
    main()
