"""The HAProxy versions the native tests run on: Debian 12's own binary (2.6), then the 3.0 and 3.2 of
the test images, each on this machine's loopback (tests.helpers.native_haproxy)."""

from __future__ import annotations

import pytest

from tests.docker.conftest import DEBIAN_13_HAPROXY, TEST_IMAGES

HAPROXY_VERSIONS = [
    pytest.param(None, id="2.6"),
    pytest.param(DEBIAN_13_HAPROXY, id="3.0", marks=pytest.mark.docker),
    pytest.param(TEST_IMAGES["haproxy"], id="3.2", marks=pytest.mark.docker),
]
