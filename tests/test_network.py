"""The suite needs no network: outside connections are refused, and offline data loading says what to do."""

import socket

import pytest

from gan_utils import data
from tests.conftest import NetworkBlockedError


def test_outside_connections_are_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlockedError):
            sock.connect(("8.8.8.8", 53))


def test_loopback_is_still_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_mnist_download_without_network_says_where_to_put_the_file():
    with pytest.raises(data.DatasetUnavailableError) as raised:
        data.load_mnist(source="keras")
    message = str(raised.value)
    assert "mnist.npz" in message
    assert str(data.keras_cache_dir()) in message
    assert "GAN_DATA=sample" in message


def test_fashion_mnist_download_without_network_names_the_folder():
    with pytest.raises(data.DatasetUnavailableError) as raised:
        data.load_fashion_mnist()
    assert "fashion-mnist" in str(raised.value)
    assert "train-images-idx3-ubyte.gz" in str(raised.value)
