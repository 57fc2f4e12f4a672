"""An HTTP CONNECT proxy: a sandbox in a network namespace reaches the outside (pip's https)
only through this, listening on the host's end of the veth.

CONNECT is all it does (all pip needs for https); anything else gets 405. Like the daemons it
forks once it listens, the parent writing the child's pid file and exiting.

    python3 proxy.py HOST PORT PIDFILE LOGFILE
    python -m rxpanel.sandbox.proxy HOST PORT PIDFILE LOGFILE

Standard library only, and no import of rxpanel: the sandbox runs a copy of this file with the
system python3 (no venv), from the sandbox's directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

HEAD_TIMEOUT = CONNECT_TIMEOUT = 30  # seconds
CHUNK = 65536
METHOD_NOT_ALLOWED = b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n"
BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n"
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end, then pass the end on (half-close)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.close()  # the other direction, reading from it, sees the end too


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One client: `CONNECT host:port`, then bytes both ways until both ends are done."""
    upstream = None
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        method, target = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
        if method != "CONNECT":
            writer.write(METHOD_NOT_ALLOWED)
            return
        name, _, number = target.rpartition(":")
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(name.strip("[]"), int(number)), CONNECT_TIMEOUT
            )
        except (OSError, ValueError, asyncio.TimeoutError) as e:
            print(f"CONNECT {target}: {e}", file=sys.stderr, flush=True)
            writer.write(BAD_GATEWAY)
            return
        writer.write(ESTABLISHED)
        await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))
    except (
        OSError,
        ValueError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        asyncio.TimeoutError,
    ):
        pass
    finally:
        for w in (writer, upstream and upstream[1]):
            if w:
                w.close()


async def serve(sock: socket.socket) -> None:
    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        await server.serve_forever()


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def main(argv: list[str]) -> None:
    host, port, pidfile, logfile = argv[0], int(argv[1]), argv[2], argv[3]
    sock = listen(host, port)  # before the fork: the caller's exit means "listening"
    child = os.fork()
    if child:
        with open(pidfile, "w") as f:
            f.write(f"{child}\n")
        os._exit(0)
    os.setsid()
    log = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(serve(sock))


if __name__ == "__main__":
    main(sys.argv[1:])
