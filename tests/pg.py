"""A throwaway PostgreSQL server for the test run, from Debian's binaries.

PostgreSQL refuses to run as root, so when we are root the server runs as the
``postgres`` user in a data folder it owns; clients connect over loopback.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise RuntimeError(f"PostgreSQL's {name} was not found; run `make test` to install it.")


@dataclass
class PgServer:
    port: int
    datadir: str
    root: str

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def createdb(self, dbname: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)

    def stop(self) -> None:
        _run_as_pg([_bin("pg_ctl"), "-D", self.datadir, "-m", "immediate", "-w", "stop"],
                   check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _run_as_pg(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def _prepare(prefix: str) -> tuple[str, str, str]:
    root = tempfile.mkdtemp(prefix=prefix)
    datadir = os.path.join(root, "data")
    sockdir = os.path.join(root, "sock")
    os.makedirs(sockdir)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockdir, "postgres")
        os.chmod(root, 0o755)  # noqa: S103 - postgres must traverse it
    return root, datadir, sockdir


def _serve(root: str, datadir: str, sockdir: str, port: int | None = None) -> PgServer:
    port = port or free_port()
    options = (f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    result = _run_as_pg([_bin("pg_ctl"), "-D", datadir, "-o", options, "-l",
                         os.path.join(datadir, "server.log"), "-w", "-t", "60", "start"],
                        check=False)
    if result.returncode != 0:
        log = ""
        try:
            with open(os.path.join(datadir, "server.log")) as fh:
                log = fh.read()[-2000:]
        except OSError:
            pass
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
    server = PgServer(port=port, datadir=datadir, root=root)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.2)
    return server


def start() -> PgServer:
    root, datadir, sockdir = _prepare("timebank-pg-")
    _run_as_pg([_bin("initdb"), "-D", datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-sync"])
    return _serve(root, datadir, sockdir)


def start_standby(primary: PgServer) -> PgServer:
    """A streaming hot standby of ``primary``, as production runs one: a base backup
    with ``-R`` (it writes standby.signal and the connection to follow), then started."""
    root, datadir, sockdir = _prepare("timebank-pg-standby-")
    _run_as_pg([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", "postgres", "-D", datadir, "-R", "-X", "stream", "--no-sync",
                "--checkpoint=fast"])
    return _serve(root, datadir, sockdir)


def stop_only(server: PgServer) -> None:
    """Stop ``server`` cleanly (as an operator's restart does), keeping its files."""
    _run_as_pg([_bin("pg_ctl"), "-D", server.datadir, "-m", "fast", "-w", "stop"],
               check=False)


def start_again(server: PgServer) -> None:
    """Start a stopped ``server`` again on its port."""
    _serve(server.root, server.datadir, os.path.join(server.root, "sock"), server.port)


def halt(server: PgServer) -> None:
    """Stop ``server`` at once, as a machine that went away (its files kept)."""
    _run_as_pg([_bin("pg_ctl"), "-D", server.datadir, "-m", "immediate", "-w", "stop"],
               check=False)
