"""Running the server: ``LocalS3Server`` (its own thread and event loop) and ``serve``
(the foreground, until SIGINT/SIGTERM).

Both build the same thing: a Storage opened in the loop's thread (SQLite connections
belong to one thread), a Verifier holding the keys, and aiohttp's low-level server
behind the connection limits of connections.py, bound to 127.0.0.1 unless told
otherwise. In durable mode a write is answered only once it is on disk. Stopping
closes the listener, waits briefly for requests in flight, closes connections and the
index, and joins the thread: nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

from aiohttp import web

from ..protocol.signing import Credentials
from .ais import aistore_token
from .app import Dispatcher
from .auth import Verifier
from .call import Settings
from .connections import ConnectionLimits, Gate
from .keys import Keyring, random_credentials
from .storage import Storage

__all__ = ["LocalS3Server", "serve"]

SHUTDOWN_GRACE = 3.0
READ_BUFFER = 256 * 1024


@dataclass(frozen=True, slots=True)
class _Config:
    root: Path
    host: str
    port: int
    keyring: Keyring | None
    settings: Settings
    durable: bool
    limits: ConnectionLimits


def _keys(
    access_key: str | None,
    secret_key: str | None,
    credentials: Mapping[str, str] | Iterable[Credentials] | None,
) -> list[Credentials]:
    if (access_key is None) != (secret_key is None):
        raise ValueError("give both access_key and secret_key, or neither")
    found: list[Credentials] = []
    if access_key is not None and secret_key is not None:
        found.append(Credentials(access_key, secret_key))
    if credentials is not None:
        if isinstance(credentials, Mapping):
            found += [Credentials(str(a), str(s)) for a, s in credentials.items()]
        else:
            found += list(credentials)
    return found or [random_credentials()]


async def _run(config: _Config, on_ready: Callable[[int], None], stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set; ``on_ready(port)`` once listening."""
    # In this thread: SQLite connections are per thread.
    storage = Storage(config.root, durable=config.durable)
    try:
        settings = config.settings
        verifier = Verifier(config.keyring, settings.region, settings.clock, strict=settings.strict)
        dispatcher = Dispatcher(storage, verifier, config.settings)

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            response = await dispatcher(request)
            await storage.settle()  # durable: what this request wrote is on disk
            return response

        server = Gate(handle, config.limits, auto_decompress=False, read_bufsize=READ_BUFFER)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        watcher = asyncio.create_task(server.watch())
        try:
            site = web.TCPSite(runner, config.host, config.port)
            await site.start()
            address = runner.addresses[0]
            on_ready(int(address[1]))
            await stop.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await runner.cleanup()
    finally:
        storage.close()


class LocalS3Server:
    """A real S3 endpoint on this machine, in its own thread; a context manager.

    ``root=None`` uses a temporary folder removed on exit. Keys not given are
    generated; ``credentials`` (access key -> secret, or Credentials with session
    tokens) adds identities, all sharing one namespace. ``auth=False`` accepts
    anonymous requests (and ignores signatures). ``strict=True`` enforces AWS's limits
    (5 MiB minimum part but the last, 5 GiB maximum, part numbers 1..10,000).
    Bound to 127.0.0.1 unless ``host`` says otherwise; ``port=0`` picks a free port.
    ``durable=False`` skips every fsync (faster; a power cut may then lose the last
    writes): for throwaway data. ``limits`` caps connections and their idle time
    (see ConnectionLimits for the defaults). A request whose Host is
    ``<bucket>.<domain>`` (``domain`` is ``localhost`` unless told otherwise) addresses
    that bucket, as SDKs do by default (virtual-host style); any other Host, an IP
    address or the bare domain, is path-style.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str | None = None,
        secret_key: str | None = None,
        credentials: Mapping[str, str] | Iterable[Credentials] | None = None,
        auth: bool = True,
        strict: bool = False,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
        durable: bool = True,
        limits: ConnectionLimits | None = None,
        domain: str = "localhost",
    ) -> None:
        keys = _keys(access_key, secret_key, credentials)
        self.access_key = keys[0].access_key
        self.secret_key = keys[0].secret_key
        self.credentials = keys
        self.region = region
        self.host = host
        self.port = port
        self.strict = strict
        self.auth = auth
        self.durable = durable
        self.limits = limits or ConnectionLimits()
        self.domain = domain
        self._own_root = root is None
        self._root = Path(root) if root is not None else None
        self._keyring = Keyring(keys) if auth else None
        self._clock = clock
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalS3Server({self.endpoint_url!r}, root={str(self._root)!r}, {state})"

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("the server has no root until it is started")
        return self._root

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> LocalS3Server:
        """Start serving; returns once the port is listening (raises if it cannot)."""
        if self.running:
            raise RuntimeError("the server is already running")
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="local-s3-"))
        config = _Config(
            self._root,
            self.host,
            self.port,
            self._keyring,
            Settings(self.region, self.strict, self._clock, self.domain, self._keyring),
            self.durable,
            self.limits,
        )
        ready = threading.Event()
        failure: list[BaseException] = []

        def on_ready(port: int) -> None:
            self.port = port
            ready.set()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await _run(config, on_ready, self._stop)

        def thread_main() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # reported to start(), or lost with the thread
                failure.append(exc)
            finally:
                ready.set()

        self._thread = threading.Thread(target=thread_main, name="LocalS3Server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the local S3 server could not start: {failure[0]}") from failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; removes a temporary root. Idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
            thread.join()
        self._thread = self._loop = self._stop = None
        if self._own_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> LocalS3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _print_aistore(out: TextIO, endpoint: str, keys: list[Credentials], generated: bool) -> None:
    """How to point the AIStore SDK here; the token only where the secret is shown."""
    print(f"AIStore SDK: AIS_ENDPOINT={endpoint}", file=out)
    if keys and generated:
        print(f"AIS_AUTHN_TOKEN={aistore_token(keys[0].access_key, keys[0].secret_key)}", file=out)
    elif keys:
        print(
            "AIS_AUTHN_TOKEN: s3_asyncio_client.server.aistore_token(access_key, secret_key)",
            file=out,
        )


def serve(
    root: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    credentials: Mapping[str, str] | Iterable[Credentials] | None = None,
    auth: bool = True,
    strict: bool = False,
    region: str = "us-east-1",
    durable: bool = True,
    limits: ConnectionLimits | None = None,
    domain: str = "localhost",
    out: TextIO | None = None,
) -> None:
    """Serve ``root`` in the foreground until SIGINT or SIGTERM; prints the endpoint,
    the access keys, and a secret key only if it generated it."""
    out = out or sys.stdout
    keys = _keys(access_key, secret_key, credentials)
    limits = limits or ConnectionLimits()
    keyring = Keyring(keys) if auth else None
    config = _Config(
        Path(root),
        host,
        port,
        keyring,
        Settings(region, strict, domain=domain, keyring=keyring),
        durable,
        limits,
    )
    generated = access_key is None and credentials is None
    cap = limits.cap()  # ValueError now, before binding, if the descriptors cannot carry it

    def on_ready(bound: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(f"LocalS3 serving {Path(root).resolve()} at http://{shown}:{bound}", file=out)
        print(f"region: {region}{'  (strict AWS limits)' if strict else ''}", file=out)
        print(
            f"connections: at most {cap}; closed after {limits.header_timeout:g} s without "
            f"a request head, {limits.idle_timeout:g} s idle, {limits.read_timeout:g} s of "
            "a stalled body",
            file=out,
        )
        if not durable:
            print("durability: off (no fsync: a power cut may lose the last writes)", file=out)
        if not auth:
            print("auth: off (anonymous requests accepted)", file=out)
        elif generated:
            # Generated, so nobody knows it yet. A secret the user gave is never
            # echoed: terminals, CI logs and shared screens keep what is printed.
            print(f"access key: {keys[0].access_key}", file=out)
            print(f"secret key: {keys[0].secret_key}", file=out)
        elif len(keys) == 1:
            print(f"access key: {keys[0].access_key}", file=out)
        else:
            print(f"access keys: {', '.join(k.access_key for k in keys)}", file=out)
        _print_aistore(out, f"http://{shown}:{bound}", keys if auth else [], generated)
        out.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _run(config, on_ready, stop)

    asyncio.run(main())
