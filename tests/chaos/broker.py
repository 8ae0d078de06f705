"""A RabbitMQ node of the chaos run's own, next to the machine's main one.

Its node name, ports, data and logs are private (``chaos-<pid>@localhost`` on free ports, a
temporary folder), so stopping it hurts nobody else; it runs without plugins (no management
port to clash with :15672) and is asked with ``rabbitmqctl``. The Debian wrapper runs the
server as the ``rabbitmq`` user when called by root, so the folder is handed to that user;
the Erlang cookie is that user's, shared with ``rabbitmqctl``.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pika

from tests.e2e.stack import eventually, free_port


class PrivateBroker:
    def __init__(self) -> None:
        self.node = f"chaos-{os.getpid()}@localhost"
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nesk-chaos-rabbit-"))
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        files = {"rabbitmq.conf": f"listeners.tcp.local = 127.0.0.1:{self.port}\n",
                 "enabled_plugins": "[].\n", "rabbitmq-env.conf": ""}
        for name, text in files.items():
            (self.folder / name).write_text(text)
        self.env = {**os.environ,
                    "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(free_port()),
                    "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.folder / "log"),
                    "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
                    "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
                    "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
                    "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config")}
        if os.geteuid() == 0:  # the wrapper switches to the rabbitmq user
            owner = pwd.getpwnam("rabbitmq")
            self.folder.chmod(0o755)
            for path in [self.folder, *self.folder.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def ctl(self, *args: str, check: bool = True) -> str:
        """``rabbitmqctl -n <node> ...``; its output."""
        done = subprocess.run(["rabbitmqctl", "-n", self.node, *args], env=self.env,
                              cwd=self.folder, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, cwd=self.folder,
                       check=True, capture_output=True, timeout=120)
        self.wait_accepting(timeout=180)

    def accepts(self) -> bool:
        try:
            pika.BlockingConnection(pika.URLParameters(
                self.uri + "?connection_attempts=1&socket_timeout=5")).close()
            return True
        except pika.exceptions.AMQPError:
            return False

    def wait_accepting(self, timeout: float) -> None:
        eventually(self.accepts, timeout=timeout, interval=0.3,
                   what=f"RabbitMQ node {self.node} to accept connections")

    def stop_app(self) -> None:
        """The broker fault: every connection dropped, nothing accepted."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.wait_accepting(timeout=120)

    def queues(self) -> dict[str, int]:
        """``{queue: messages}`` of every queue on the node's vhost ``/``."""
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        depths = {}
        for line in out.splitlines():
            name, _, count = line.rpartition("\t")
            if name:
                depths[name] = int(count)
        return depths

    def remove(self) -> None:
        """Stop the node (waiting for its process) and delete its folder."""
        pid_file = self.folder / "rabbit.pid"
        try:
            if pid_file.exists():
                self.ctl("stop", str(pid_file), check=False)
            else:
                self.ctl("stop", check=False)
        finally:
            time.sleep(0.5)
            shutil.rmtree(self.folder, ignore_errors=True)
