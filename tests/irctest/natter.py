"""irctest controller for natter's IRC listener (``natter-server --irc-port``).

irctest (progval/irctest) imports controllers by module name; run it from its own checkout with this
folder on ``PYTHONPATH`` and ``--controller natter`` (``just irctest`` does). The server under test is
``$NATTER_SERVER``, or this checkout's ``target/debug/natter-server``.

natter's accounts live in its credentials file, so ``registerUser()`` needs no services, as ergo's
does not: it appends ``username password`` to the file and has the server reload it (SIGHUP), then
waits until a login with it works. natter has no server password (``PASS`` is the account's
password), so a test that starts the server with one is skipped as not implemented. The server
admits guests (``--irc-guests``): irctest's clients mostly register with a nick and no password.
The operator irctest's tests use (``OPER operuser operpassword``) is given with ``--operator``, its
password as its argon2id hash, as natter takes an operator's.
"""

import atexit
import os
import secrets
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.cases import BaseServerTestCase
from irctest.runner import NotImplementedByController

HERE = Path(__file__).resolve().parent
DEFAULT_BINARY = HERE.parent.parent / "target" / "debug" / "natter-server"

# irctest's tests become the operator with `OPER operuser operpassword` (as its other controllers
# configure). natter takes an operator's password only as its argon2id hash: this one is argon2's
# cheapest (m=8, t=1; made once with Python's `cryptography`, Argon2id, salt `irctest-operator`), so
# that the many OPERs of a run cost nothing.
OPERATOR = (
    "operuser $argon2id$v=19$m=8,t=1,p=1$aXJjdGVzdC1vcGVyYXRvcg"
    "$+ETyfYDotVa79u+oRgvB3ih4NjhO620I1CCgYw8Kfs0"
)


# A test that skips inside its setUp() (a capability natter does not offer) is never torn down, and
# would leave its server running: every server started is stopped when the worker exits.
_STARTED: list = []


@atexit.register
def _stop_all() -> None:
    for proc in _STARTED:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except Exception:
                proc.kill()


class NatterController(BaseServerController, DirectoryBasedController):
    software_name = "natter"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    # A ban mask `m:<mask>` mutes (natter's `EXTBAN=,m`).
    extban_mute_char = "m"

    def binary(self) -> str:
        return os.environ.get("NATTER_SERVER", str(DEFAULT_BINARY))

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if password is not None:
            raise NotImplementedByController("server password (PASS is the account's)")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        self.credentials = self.directory / "credentials.txt"
        with self.open_file("credentials.txt") as fd:
            # natter does not start without an account: one no test uses.
            fd.write("# irctest's accounts, added by registerUser()\n")
            fd.write(f"natter_placeholder {secrets.token_hex(12)}\n")
        (_, main_port) = self.get_hostname_and_port()
        args = [
            self.binary(),
            str(main_port),
            "--bind",
            "127.0.0.1",
            "--irc-port",
            str(port),
            # irctest's clients register with a nick and no password, as on IRC networks.
            "--irc-guests",
            # irctest's tests expect the server's name its other controllers give it.
            "--irc-server-name",
            "My.Little.Server",
            "--operator",
            OPERATOR,
            "--credentials",
            str(self.credentials),
            "--data-dir",
            str(self.directory / "data"),
            "--log-level",
            "warn",
        ]
        if websocket_port is not None:
            # IRC over WebSocket (IRCv3's transport), on the same address.
            args += ["--irc-ws-port", str(websocket_port)]
        if ssl:
            self.gen_ssl()
            args += ["--tls-cert", str(self.pem_path), "--tls-key", str(self.key_path)]
        else:
            args.append("--plaintext")
        if faketime and shutil.which("faketime"):
            args = ["faketime", "-f", faketime, *args]
            self.faketime_enabled = True
        self.proc = self.execute(args)
        _STARTED.append(self.proc)

    def registerUser(
        self,
        case: BaseServerTestCase,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        assert password, "natter's accounts have passwords"
        assert self.proc
        with self.open_file("credentials.txt") as fd:
            fd.write(f"{username} {password}\n")
        self.proc.send_signal(signal.SIGHUP)
        self.wait_for_account(username, password)

    def wait_for_account(self, username: str, password: str) -> None:
        """Logs in (and out) until the reloaded accounts let ``username`` in."""
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(
                    f"PASS {password}\r\nNICK {username}\r\nUSER u 0 * :u\r\n".encode()
                )
                got = b""
                while b" 001 " not in got and b"ERROR" not in got:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                if b" 001 " in got:
                    s.sendall(b"QUIT\r\n")
                    while s.recv(4096):
                        pass
                    return
            time.sleep(0.1)
        raise AssertionError(f"natter never let {username} in after the reload")


def get_irctest_controller_class() -> Type[NatterController]:
    return NatterController
