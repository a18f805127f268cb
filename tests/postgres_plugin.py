"""Pytest plugin: with `--postgres`, the suite runs on a throwaway PostgreSQL server of its own.

The server is started from the local PostgreSQL binaries before Django reads its settings (as the
`postgres` user when we are root, since initdb and postgres refuse root) and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest

INSTALL_HINT = "Install PostgreSQL's server binaries: apt-get install postgresql (Debian 12 ships 15)."


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="Run on a throwaway PostgreSQL server started from the local binaries.",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args) -> None:
    if not early_config.known_args_namespace.postgres:
        return
    server = ThrowawayPostgres()
    early_config.add_cleanup(server.stop)
    server.start()
    early_config.stash[SERVER] = server
    os.environ["DATABASE_URL"] = server.url


SERVER = pytest.StashKey["ThrowawayPostgres"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: needs the PostgreSQL server itself (runs with --postgres)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of the server itself (an outage) run in the --postgres pass; the SQLite pass leaves them
    out rather than skipping them, so every test that is collected also runs."""
    if config.getoption("--postgres"):
        return
    postgres_only = [item for item in items if item.get_closest_marker("postgres_only")]
    if postgres_only:
        config.hook.pytest_deselected(items=postgres_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]


@pytest.fixture
def postgres_server(request) -> ThrowawayPostgres | None:
    """The suite's PostgreSQL server when it runs with --postgres (a test may crash and restart it)."""
    return request.config.stash.get(SERVER, None)


def _server_binaries() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = [
        Path(directory)
        for directory in glob.glob("/usr/lib/postgresql/*/bin")
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists()
    ]
    if not found:
        raise pytest.UsageError(f"PostgreSQL server binaries (initdb, pg_ctl) were not found. {INSTALL_HINT}")
    return max(found, key=lambda directory: int(directory.parent.name))


class ThrowawayPostgres:
    port = 54329

    def __init__(self) -> None:
        self.bin = _server_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="studio-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise pytest.UsageError(
                    f"There is no 'postgres' system user to run the server as. {INSTALL_HINT}"
                ) from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@{quote(str(self.root), safe='')}:{self.port}/studio"

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self.as_user, *command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise pytest.UsageError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def _options(self) -> str:
        # fsync protects against the operating system crashing, which no test here does; a killed server
        # (tests/test_durability.py) still recovers every acknowledged commit from its write-ahead log.
        return f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            self._options(),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        self._run(
            str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "studio"
        )

    def crash(self) -> None:
        """Kill the server the hard way (SIGKILL to the postmaster), as the OOM killer would."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (_running(pid) or _children(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)  # its backends notice and exit; the shared memory must be free first
        # A killed postmaster leaves its lock file behind; on a real machine init reaps the process and
        # PostgreSQL ignores the stale file, but in a container without an init it lingers as a zombie.
        for lock in (self.data / "postmaster.pid", self.root / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)

    def restart(self) -> None:
        """Start again on the same data: PostgreSQL replays its write-ahead log first."""
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            self._options(),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [
                    *self.as_user,
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if (
            entry.isdigit()
            and (stat := _stat(int(entry))) is not None
            and stat[1] == str(pid)
            and stat[0] != "Z"
        ):
            found.append(int(entry))
    return found
