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


@pytest.fixture(scope="session")
def quick_reproduction(tmp_path_factory):
    """``reproduce('all', quick=True)`` built once per test session: ``(out_dir, {name: FigureOutput})``.

    Shared by every test that needs the quick figures (tests/test_reproduce.py; the notebook tests can reuse
    the files instead of rebuilding them, about 120 s of the suite).
    """
    from flowphase.validation.reproduce import reproduce

    out = tmp_path_factory.mktemp("reproduce")
    outputs = reproduce("all", out, quick=True, progress=False)
    return out, {o.name: o for o in outputs}
