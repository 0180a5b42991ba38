"""Encrypted archives for files of identifiable data leaving Beacon (issue #10): a ZIP encrypted with AES-256
(the WinZip AES format, which 7-Zip, WinZip, macOS Archive Utility alternatives and most tools open) under a
fresh random password. The password is returned to the caller to give separately from the file: never put it
in a file name, a URL, an email, a log line or the audit log."""

from __future__ import annotations

import io
import secrets

import pyzipper

# No 0/O, 1/I/L: the password is read off a screen and typed into an archive tool.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 6, 4  # 24 characters from 31: about 119 bits


def new_password() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def encrypted_zip(files: dict[str, bytes]) -> tuple[bytes, str]:
    """An AES-256 encrypted ZIP holding ``files`` (name inside the archive -> content), and its password."""
    password = new_password()
    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue(), password
