"""A throwaway RabbitMQ node that the drills own: its own node name, AMQP and distribution
ports, data, log and pid files in a temp folder, no plugins. The drills stop and start it;
the machine's broker on 5672 is never touched.

The Debian scripts (`rabbitmq-server`, `rabbitmqctl`) run the node as the `rabbitmq` user
when called by root and pass the RABBITMQ_* variables through, so the folder is opened to
that user and the node shares its Erlang cookie with the CLI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.realparts import free_port, wait_for_port


class OwnedBroker:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.node = f"drill-{tag}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"lianxin-drill-rmq-{tag}-"))
        self.folder.chmod(0o777)
        # our own config file: the machine's /etc/rabbitmq/rabbitmq.conf names port 5672
        config = self.folder / "rabbitmq.conf"
        config.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        plugins = self.folder / "enabled_plugins"
        plugins.write_text("[].\n")  # no management plugin: it would fight for port 15672
        for path in (config, plugins):
            path.chmod(0o666)
        self.vhost = f"lianxin-drills-{tag}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.folder / "log"),
                "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            }
        )
        return env

    @property
    def amqp_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{self.vhost}"

    def ctl(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def start(self, timeout: float = 90) -> None:
        if shutil.which("rabbitmq-server") is None:
            raise RuntimeError("the drills need RabbitMQ installed (infra/ensure_rabbitmq.sh)")
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env(), check=True, timeout=60)
        wait_for_port(self.port, timeout)

    def stop(self) -> None:
        self.ctl("stop", timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.answers():
            time.sleep(0.1)

    def answers(self) -> bool:
        import socket

        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.3):
            return True
        return False

    def prepare_vhost(self) -> None:
        self.ctl("add_vhost", self.vhost)
        self.ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def close_all_connections(self) -> None:
        self.ctl("close_all_connections", "-p", self.vhost, "fault drill")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.ctl("stop", timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
