"""Checkpoints load as data only: numpy state round-trips exactly; a pickle payload never runs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from curation.errors import ConfigError, RunError
from model import safe_load


class Payload:
    """Unpickling this creates ``marker`` (what a crafted checkpoint would do, harmlessly)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_numpy_state_round_trips_bit_for_bit(tmp_path):
    rng = np.random.default_rng(5)
    rng.random(3)
    state = {"history": rng.random((2, 3, 4)).astype(np.float16), "verdicts": np.array([0, 2, 1], np.int8),
             "consensus": np.arange(3), "best_score": np.float64(0.25), "log": [{"uar": np.float32(0.5)}],
             "np_rng": rng.bit_generator.state}
    torch.save(safe_load.to_safe(state), tmp_path / "s.pt")
    back = safe_load.load(tmp_path / "s.pt")
    arrays = safe_load.arrays_from_safe(back)
    for k in ("history", "verdicts", "consensus"):
        assert arrays[k].dtype == state[k].dtype and np.array_equal(arrays[k], state[k])
    assert back["best_score"] == 0.25 and back["log"] == [{"uar": 0.5}]
    again = np.random.default_rng()
    again.bit_generator.state = back["np_rng"]
    assert again.random() == rng.random()


@pytest.mark.parametrize("kind", ["torch-zip", "plain-pickle"])
def test_a_planted_pickle_payload_is_refused_and_never_runs(tmp_path, kind):
    marker = tmp_path / "ran"
    path = tmp_path / "best.pt"
    if kind == "torch-zip":
        torch.save({"format": 2, "model": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"model": Payload(marker)}))
    refusal = ("not loaded, because loading it could run code" if kind == "torch-zip"
               else "cannot be read as weights .*nothing in it was run")  # protocol 4: refused earlier
    with pytest.raises(ConfigError, match=refusal):
        safe_load.load(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload is real: unpickling it does run
    assert marker.exists()


def test_missing_and_damaged_files_get_clear_errors(tmp_path):
    with pytest.raises(RunError, match="does not exist; train again"):
        safe_load.load(tmp_path / "nope.pt")
    torch.save({"w": torch.zeros(100)}, tmp_path / "w.pt")
    data = (tmp_path / "w.pt").read_bytes()
    (tmp_path / "w.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match="cannot be read"):
        safe_load.load(tmp_path / "w.pt")
