"""Pytest plugin: with `--postgres`, the suite runs on a throwaway PostgreSQL server of its own.

The server is started from the local PostgreSQL binaries before Django reads its settings (as the
`postgres` user when we are root, since initdb and postgres refuse root) and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
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
    os.environ["DATABASE_URL"] = server.url


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
        # Durability is not what these tests measure; skipping fsync makes them fast.
        options = f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        self._run(
            str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "studio"
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
