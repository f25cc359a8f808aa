"""A real Dovecot IMAP server on loopback for the mail-polling tests.

The `dovecot` fixture (one per test session) writes a throwaway configuration in
a temporary folder: plain IMAP on 127.0.0.1 and a free port, no TLS, maildir
storage and one passwd-file user, with its runtime files, state and log beside
it. It starts `dovecot -F -c <conf>` and stops it when the session ends.

Started as root, Dovecot drops privileges the usual way: login processes run as
dovenull, internal ones as dovecot, mail is read and written as nobody (Dovecot
refuses uid 0 for mail access). Started as another user, everything runs as that
user. `imap_folder` gives each test a folder of its own.
"""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

READY_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self) -> IMAPClient:
        """A client logged in as the mail user; the caller logs out."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(
        self, folder: str, *mails: bytes, received: datetime | None = None
    ) -> list[int]:
        """Deliver mails into a folder as a mail client would (received now, or at
        the time given); their UIDs."""
        client = self.client()
        try:
            uids = []
            for mail in mails:
                answer = client.append(folder, mail, msg_time=received)
                # "[APPENDUID <uidvalidity> <uid>] Append completed."
                uids.append(int(answer.split(b"]")[0].split()[-1]))
            return uids
        finally:
            client.logout()

    def uidvalidity(self, folder: str) -> int:
        client = self.client()
        try:
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        finally:
            client.logout()

    def recreate(self, folder: str) -> None:
        """Delete a folder and create it again, empty, under a new UIDVALIDITY."""
        client = self.client()
        try:
            client.delete_folder(folder)
            client.create_folder(folder)
        finally:
            client.logout()

    def inbox_config(self, folder: str) -> dict:
        """The config of an email inbox that polls this folder."""
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_tls": "none",
            "imap_user": self.user,
            "imap_folder": folder,
        }

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _system_users() -> dict[str, str]:
    """Who runs Dovecot's login and internal processes and owns the mail."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return {"login": me, "internal": me, "mail": me}
    return {"login": "dovenull", "internal": "dovecot", "mail": "nobody"}


def _config(root: Path, port: int, users: dict[str, str]) -> str:
    mail = pwd.getpwnam(users["mail"])
    unprivileged = os.geteuid() != 0
    # Only root can chroot; without root the login processes stay where they are.
    no_chroot = "  chroot =\n" if unprivileged else ""
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {users["login"]}
default_internal_user = {users["internal"]}
default_internal_group = {grp.getgrgid(pwd.getpwnam(users["internal"]).pw_gid).gr_name}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
{no_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
{no_chroot}}}
"""


def _wait_until_listening(process: subprocess.Popen, server: ImapServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"dovecot exited with {process.returncode}:\n"
                f"{(server.root / 'dovecot.out').read_text(errors='replace')}\n"
                f"{server.log()}"
            )
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"dovecot did not answer in {READY_TIMEOUT_SECONDS}s:\n{server.log()}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def dovecot():
    """A running Dovecot IMAP server with one user, for the whole session."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.access(binary, os.X_OK):
        pytest.fail("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    users = _system_users()
    root = Path(tempfile.mkdtemp(prefix="desk-dovecot-"))
    # The mail user must reach its maildir below this folder.
    root.chmod(0o755)
    mail = pwd.getpwnam(users["mail"])
    for name in ("mail", "home"):
        (root / name).mkdir()
        os.chown(root / name, mail.pw_uid, mail.pw_gid)
    server = ImapServer(
        host="127.0.0.1",
        port=_free_port(),
        user="desk",
        password=f"pw-{uuid.uuid4().hex}",
        root=root,
    )
    (root / "users").write_text(f"{server.user}:{{PLAIN}}{server.password}::::::\n")
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, server.port, users))
    with open(root / "dovecot.out", "wb") as out:
        process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_listening(process, server)
        yield server
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_folder(dovecot) -> str:
    """A new, empty folder on the Dovecot server, for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client = dovecot.client()
    try:
        client.create_folder(name)
    finally:
        client.logout()
    return name
