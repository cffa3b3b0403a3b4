"""Fixtures for the unit tests of gan_utils. The suite-wide environment is set in ../conftest.py."""

import ipaddress
import socket

import matplotlib
import pytest

matplotlib.use("Agg")


class NetworkBlockedError(OSError):
    """Raised when a test tries to reach a host other than this machine."""


def _is_local(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def block_network():
    """Every unit test runs with outside connections refused: the suite must need no network."""
    original_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if not _is_local(address):
            raise NetworkBlockedError(f"test tried to reach {address}: the test suite must not use the network")
        return original_connect(sock, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = original_connect
