"""Shared test fixtures."""
import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _keep_numba_thread_count_env():
    """Restore NUMBA_NUM_THREADS after each test.

    In-process sweep workers (validation.sweep.prepare_worker) write the thread variables into
    os.environ; numba re-reads the environment when it next compiles and refuses a thread count that
    differs from the launched pool ("Cannot set NUMBA_NUM_THREADS ... once the threads have been
    launched"), which made later tests fail depending on the test order.
    """
    before = os.environ.get("NUMBA_NUM_THREADS")
    yield
    if "numba" not in sys.modules:
        return
    if before is None:
        os.environ.pop("NUMBA_NUM_THREADS", None)
    else:
        os.environ["NUMBA_NUM_THREADS"] = before
