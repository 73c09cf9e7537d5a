"""A TCP forwarder, run as its own process by the multi-host test (tests/netns_support.py).

    python -m tests.tcp_forward LISTEN_HOST=TARGET_HOST:TARGET_PORT ...

For each argument it listens on an ephemeral port of LISTEN_HOST and forwards every
connection to TARGET_HOST:TARGET_PORT. Once every listener is bound it prints one line of
JSON, ``[[listen_host, listen_port, target_host, target_port], ...]``, and serves until it is
killed. PostgreSQL and Redis listen on 127.0.0.1 only: this lets workers in a network
namespace reach them over a veth pair without reconfiguring either.
"""

import asyncio
import json
import socket
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:  # pragma: no cover - already gone
            pass


def _handler(target_host: str, target_port: int):
    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                target_host, target_port)
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, upstream_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_pipe(client_reader, upstream_writer),
                             _pipe(upstream_reader, client_writer))

    return handle


async def main(specs: list[str]) -> None:
    bound = []
    servers = []
    for spec in specs:
        listen_host, target = spec.split("=", 1)
        target_host, target_port = target.rsplit(":", 1)
        server = await asyncio.start_server(_handler(target_host, int(target_port)),
                                            listen_host, 0)
        servers.append(server)
        bound.append([listen_host, server.sockets[0].getsockname()[1], target_host,
                      int(target_port)])
    print(json.dumps(bound), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
