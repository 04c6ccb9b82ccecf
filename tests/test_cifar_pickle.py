"""A CIFAR batch file is untrusted: the restricted unpickler builds arrays and refuses anything that runs
code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from test_cifar_data import py2_dumps, write_cifar

from dltui.core.data import safe_pickle


class Evil:
    """Unpickling this calls os.system, which would create `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refuses_a_pickle_that_calls_os_system_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": Evil(marker)})
    with pytest.raises(safe_pickle.UnsafePickle, match=r"refused global '(posix|os|nt)\.system'"):
        safe_pickle.loads(payload, safe_pickle.numpy_arrays())
    assert not marker.exists()


@pytest.mark.parametrize("target", [eval, getattr, __import__])
def test_refuses_builtins_that_could_be_chained_into_code(target):
    payload = pickle.dumps(target)  # a plain global reference, the first step of any gadget chain
    with pytest.raises(safe_pickle.UnsafePickle, match="builtins"):
        safe_pickle.loads(payload, safe_pickle.numpy_arrays())


def test_allows_nothing_by_default_but_plain_data():
    assert safe_pickle.loads(pickle.dumps({b"a": [1, 2], "b": (b"x", 1.5)})) == {
        b"a": [1, 2],
        "b": (b"x", 1.5),
    }
    with pytest.raises(safe_pickle.UnsafePickle):
        safe_pickle.loads(pickle.dumps(np.zeros(2)))


def test_reads_numpy_arrays_in_the_official_py2_style():
    arr = np.arange(12, dtype=np.uint8).reshape(2, 6)
    data = py2_dumps({b"data": arr, b"labels": [3, 4]})
    assert b"numpy.core.multiarray\n_reconstruct" in data  # the name the official files use
    out = safe_pickle.loads(data, safe_pickle.numpy_arrays())
    assert np.array_equal(out[b"data"], arr) and out[b"labels"] == [3, 4]


def test_an_evil_batch_file_stops_the_run_with_exit_2_and_leaves_nothing(cli, data_dir, runs_dir, tmp_path):
    folder = write_cifar(data_dir)
    marker = tmp_path / "pwned"
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(marker), b"labels": []}))
    r = cli("run", "cifar-dropout", "--set", "epochs=1", "--set", "batch_size=16")
    assert r.exit_code == 2
    assert "data_batch_3 was not loaded" in r.stderr and "refused global" in r.stderr
    assert not marker.exists()
    assert not runs_dir.exists() or not any(p.is_dir() for p in runs_dir.iterdir())
