"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd) on 127.0.0.1, configured from a file written
into a temporary folder (a free port, one password-file user, a Maildir in that folder, logs to a file), started in
the foreground (`dovecot -F -c <conf>`) and stopped at the end. Messages are delivered with IMAP APPEND.

Run as root (CI containers), Dovecot's own unprivileged `dovecot` user owns the mail (Dovecot refuses UID 0 for
mail access); otherwise everything runs as the current user.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

USER = "relance@exemple.fr"
PASSWORD = "s3cret-imap-Pa55"

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def dovecot_binary() -> str | None:
    """The dovecot executable, or None when it is not installed."""
    found = shutil.which("dovecot")
    if found:
        return found
    return next((p for p in DOVECOT_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DovecotServer:
    """One Dovecot instance; `start`/`stop` (also `restart`), `append` a message, read flags."""

    def __init__(self, root: Path, *, binary: str, tls: tuple[Path, Path] | None = None, idle: bool = True) -> None:
        self.root = root
        self.binary = binary
        self.tls = tls
        self.idle = idle
        self.port = free_port()
        self.user = USER
        self.password = PASSWORD
        self.conf = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("dovecot")
            self.uid, self.gid = account.pw_uid, account.pw_gid
            self.run_user, self.run_group = "dovecot", grp.getgrgid(account.pw_gid).gr_name
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self.run_user = pwd.getpwuid(self.uid).pw_name
            self.run_group = grp.getgrgid(self.gid).gr_name
        self._write_config()

    def _write_config(self) -> None:
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n", encoding="utf-8")
        for sub in ("mail", "home"):
            os.chown(self.root / sub, self.uid, self.gid)
        ssl_block = "ssl = no\n"
        if self.tls is not None:
            cert, key = self.tls
            ssl_block = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\n"
        caps = "" if self.idle else 'imap_capability = "IMAP4rev1 LITERAL+ SASL-IR UIDPLUS"\n'
        self.conf.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
info_log_path = {self.log}
protocols = imap
listen = 127.0.0.1
{ssl_block}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {self.run_user}
default_internal_group = {self.run_group}
default_login_user = {self.run_user}
first_valid_uid = 1
mail_location = maildir:{self.root}/mail/%u
mail_fsync = never
imap_idle_notify_interval = 1 secs
mailbox_idle_check_interval = 1 secs
{caps}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {0 if self.tls else self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port if self.tls else 0}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 15.0) -> None:
        """Start Dovecot in the foreground and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"dovecot exited ({self.process.returncode}): {err} {self.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log_text()}")

    def stop(self) -> None:
        """Stop Dovecot (its own process group) and wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()
        # Its children (imap, auth...) may outlive the master a moment: wait for the port to be free again.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # --- a client for the tests ---

    def client(self) -> imaplib.IMAP4:
        """A logged-in imaplib client (the test side: delivering and inspecting)."""
        if self.tls is not None:
            import ssl

            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context)
        else:
            conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(self.user, self.password)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message with IMAP APPEND (unseen)."""
        conn = self.client()
        try:
            status, data = conn.append(folder, "", None, raw)
            assert status == "OK", data
        finally:
            conn.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """UID -> flags text of every message of the folder."""
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            _status, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            result: dict[int, str] = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else str(item)
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                result[uid] = text.split("FLAGS (")[1].split(")")[0]
            return result
        finally:
            conn.logout()

    def count(self, folder: str = "INBOX") -> int:
        conn = self.client()
        try:
            _status, data = conn.select(folder, readonly=True)
            return int(data[0] or 0)
        finally:
            conn.logout()
