"""A run the machine cannot hold is refused before it starts (core/spec/resources.py): exit 2 and one line
from `dltui run`, a notice and no run from the lab. It used to grow to 23.7 GB until the OOM killer ended
it (toy2d, n_samples = 1e9), or fail three runs (the polynomial, n_samples = 1e10)."""

from __future__ import annotations

import pytest
from test_tui_app import CPU, SIZE, notices, set_field, wait_until

from dltui.core.rules.errors import BadInput
from dltui.core.spec import presets, resources
from dltui.core.spec.config import parse_sets
from dltui.tui.app import LabApp

GB = 10**9


def config(preset: str, **sets):
    (_, cfg), *_ = presets.load(preset).configs(parse_sets([f"{k}={v}" for k, v in sets.items()], None))
    return cfg


def test_every_shipped_preset_fits_a_4_gb_machine():
    """With 2.5 GB of a 4 GB machine's memory available (the rest the system's and the lab's)."""
    for p in presets.load_all():
        for variant, cfg in p.configs({}):
            resources.check(cfg, variant, host_available=int(2.5 * GB))
            need = resources.estimate(cfg)
            assert need.data + need.model < 2 * GB, (p.name, variant)


def test_the_estimate_grows_with_samples_widths_and_batch():
    small, big = config("toy2d"), config("toy2d", n_samples=10**9)
    assert resources.estimate(big).data >= 10**9 * 48  # measured: 49 bytes a point while building toy2d
    assert resources.estimate(config("toy2d", hidden="[4096,4096]")).model > resources.estimate(small).model
    big_batch = config("mnist-batch", batch_size=1000, hidden="[4096]")
    assert (
        resources.estimate(big_batch).model
        > resources.estimate(config("mnist-batch", batch_size=10, hidden="[4096]")).model
    )
    assert (
        resources.estimate(config("mnist-batch", train_size=1000)).data < resources.estimate(big_batch).data
    )


@pytest.mark.parametrize(
    ("preset", "sets", "says"),
    [
        ("toy2d", {"n_samples": 10**9}, "the data (n_samples = 1,000,000,000 of toy2d) needs about 100.0 GB"),
        ("polynomial", {"n_samples": 10**10}, "the data (n_samples = 10,000,000,000 of polynomial)"),
        (
            "toy2d",
            {"hidden": "[50000,50000]"},
            "the model (2,500,300,002 parameters, hidden = [50000, 50000]",
        ),
    ],
)
def test_what_cannot_fit_is_refused_in_one_line_that_says_what_to_change(preset, sets, says):
    with pytest.raises(BadInput) as e:
        resources.check(config(preset, **sets), "v", host_available=24 * GB)
    line = str(e.value)
    assert "\n" not in line and says in line and "24.0 GB of memory available" in line
    assert ("use fewer samples (n_samples = " in line) == ("n_samples" in sets)
    assert ("use smaller hidden layers" in line) == ("hidden" in sets)


def test_on_cuda_the_model_counts_on_the_device_and_the_data_on_both():
    big_model = config("toy2d", hidden="[30000,30000]")  # about 7 GB with Adam's state and the extra copies
    resources.check(big_model, "v", host_available=2 * GB, device="cuda", device_free=80 * GB)
    with pytest.raises(BadInput, match="the cuda device has 4.0 GB free.*or set device=cpu"):
        resources.check(big_model, "v", host_available=2 * GB, device="cuda", device_free=4 * GB)


@pytest.mark.parametrize("args", [["toy2d"], ["polynomial"], ["toy2d", "--jobs", "2"]])
def test_run_refuses_a_data_set_larger_than_any_machine_before_any_run(cli, runs_dir, args):
    result = cli("run", *args, "--set", "n_samples=1000000000000")  # 10^12 points: 80 TB and more
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "of memory available; use fewer samples" in lines[0]
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


async def test_the_lab_refuses_it_with_a_notice_and_starts_nothing(runs_dir, data_dir):
    app = LabApp("toy2d", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        await set_field(pilot, "n_samples", "1000000000000")
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: "of memory available" in notices(app))
        assert "n_samples = 1,000,000,000,000 of toy2d" in notices(app)
        await wait_until(pilot, lambda: not app.starting)
        assert app.executor is None
        await pilot.press("q")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
