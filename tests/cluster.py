"""A SeaweedFS cluster on loopback, one process per role, any of which a test can kill
and restart: one master, three volume servers with replication ``001`` (every write
is stored on two volume servers), one filer and two S3 gateways on that filer.

``with seaweedfs_cluster(root) as cluster:`` starts it; ``cluster.kill("volume1")``
sends SIGKILL, ``cluster.restart("volume1")`` starts the role again on the same ports
and data and waits until it serves. Every process is stopped by PID on exit.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from servers import (
    GRPC_OFFSET,
    MIB,
    STARTUP_DEADLINE,
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    WEED_STOP_GRACE,
    ServerInfo,
    ServerProcess,
    _child_env,
    _find_binary,
    _spawn,
    _wait_ready,
    _write_identities,
    pick_ports,
)

VOLUMES = 3
GATEWAYS = 2


@dataclass(frozen=True)
class Role:
    name: str
    argv: list[str]
    port: int


class SeaweedCluster:
    """The running cluster: ``gateways`` (a ServerInfo per S3 gateway) and its roles."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        identities = root / "identities.json"
        _write_identities(identities)
        # One volume per new collection, on two servers (replication 001), not seven.
        (root / "master.toml").write_text("[master.volume_growth]\ncopy_2 = 1\n")
        ports = pick_ports(2 + VOLUMES + GATEWAYS, with_grpc_twin=True)
        master, filer, *rest = ports
        weed = _find_binary("weed")
        common = ["-ip.bind=127.0.0.1"]
        grpc = lambda port: f"-port.grpc={port + GRPC_OFFSET}"  # noqa: E731
        self.master_port = master
        roles = [
            Role("master", [weed, "master", "-ip=127.0.0.1", *common, f"-port={master}",
                            grpc(master), f"-mdir={self._dir('master')}",
                            "-defaultReplication=001", "-volumeSizeLimitMB=64",
                            "-resumeState=false", "-telemetry=false"], master),
        ]  # fmt: skip
        for number, port in enumerate(rest[:VOLUMES], start=1):
            roles.append(
                Role(f"volume{number}", [weed, "volume", "-ip=127.0.0.1", *common,
                                         f"-port={port}", grpc(port),
                                         f"-dir={self._dir(f'volume{number}')}",
                                         f"-master=127.0.0.1:{master}", "-max=400",
                                         "-preStopSeconds=0"], port)
            )  # fmt: skip
        roles.append(
            Role("filer", [weed, "filer", "-ip=127.0.0.1", *common, f"-port={filer}",
                           grpc(filer), f"-master=127.0.0.1:{master}",
                           f"-defaultStoreDir={self._dir('filer')}",
                           "-defaultReplicaPlacement=001"], filer)
        )  # fmt: skip
        self.gateways: list[ServerInfo] = []
        for number, port in enumerate(rest[VOLUMES:], start=1):
            roles.append(
                Role(f"s3-{number}", [weed, "s3", *common, f"-port={port}", grpc(port),
                                      f"-filer=127.0.0.1:{filer}", f"-config={identities}",
                                      "-port.iceberg=0", "-port.lance=0"], port)
            )  # fmt: skip
            self.gateways.append(
                ServerInfo(
                    name=f"seaweedfs-cluster-s3-{number}",
                    endpoint_url=f"http://127.0.0.1:{port}",
                    access_key=TEST_ACCESS_KEY,
                    secret_key=TEST_SECRET_KEY,
                    checks_signatures=True,
                    min_part_size=5 * MIB,
                )
            )
        self.roles = {role.name: role for role in roles}
        self.processes: dict[str, ServerProcess] = {}

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def start(self) -> None:
        for name in self.roles:
            self._spawn(name)
            if name == "master":
                self._wait(lambda: self._status("/cluster/status") is not None, "the master")
        self.wait_volumes(VOLUMES)
        for gateway in self.gateways:
            self.wait_gateway(gateway)

    def _spawn(self, name: str) -> None:
        role = self.roles[name]
        self.processes[name] = _spawn(name, role.argv, self.root, _child_env(), WEED_STOP_GRACE)

    def kill(self, name: str) -> None:
        """SIGKILL one role's process (no chance to flush or say goodbye)."""
        process = self.processes[name]
        process.proc.send_signal(signal.SIGKILL)
        process.proc.wait(timeout=30)

    def restart(self, name: str) -> None:
        """Start a killed or stopped role again on its ports and data; wait until it serves."""
        self.processes[name].stop()
        self._spawn(name)
        if name.startswith("volume"):
            self.wait_volumes(VOLUMES)
        elif name.startswith("s3-"):
            self.wait_gateway(self.gateways[int(name.split("-")[1]) - 1])
        else:
            for gateway in self.gateways:
                self.wait_gateway(gateway)

    def wait_gateway(self, gateway: ServerInfo) -> None:
        name = "s3-" + gateway.name.rsplit("-", 1)[1]
        _wait_ready(self.processes[name], gateway, STARTUP_DEADLINE)

    def wait_volumes(self, count: int) -> None:
        """Until the master counts ``count`` live volume servers."""
        self._wait(lambda: self.live_volumes() == count, f"{count} volume servers")

    def live_volumes(self) -> int:
        status = self._status("/dir/status")
        if status is None:
            return 0
        topology = status.get("Topology", {})
        return sum(
            len(rack.get("DataNodes") or [])
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
        )

    def holders(self, collection: str) -> list[str]:
        """The volume servers (role names) holding a volume of ``collection`` (a bucket)."""
        by_port = {f"127.0.0.1:{role.port}": name for name, role in self.roles.items()}
        status = self._status("/vol/status") or {}
        volumes = status.get("Volumes", {})
        assert isinstance(volumes, dict)
        found = []
        for racks in (volumes.get("DataCenters") or {}).values():
            for nodes in racks.values():
                for node, held in nodes.items():
                    if any(volume.get("Collection") == collection for volume in held or []):
                        found.append(by_port[node])
        return sorted(found)

    def _status(self, path: str) -> dict[str, object] | None:
        url = f"http://127.0.0.1:{self.master_port}{path}"
        with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=2) as r:
            value = json.loads(r.read())
            return value if isinstance(value, dict) else None
        return None

    def _wait(self, check: object, what: str) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            time.sleep(0.2)
        logs = "\n".join(f"--- {n} ---\n{p.log_tail(15)}" for n, p in self.processes.items())
        raise RuntimeError(
            f"SeaweedFS cluster: not within {STARTUP_DEADLINE:.0f} s: {what}\n{logs}"
        )

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def gateway(self, number: int) -> ServerInfo:
        return self.gateways[number - 1]

    def through(self, number: int, endpoint_url: str) -> ServerInfo:
        """Gateway ``number``'s identity, reached at ``endpoint_url`` (e.g. a proxy)."""
        return replace(self.gateways[number - 1], endpoint_url=endpoint_url)


@contextlib.contextmanager
def seaweedfs_cluster(root: Path) -> Iterator[SeaweedCluster]:
    cluster = SeaweedCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
