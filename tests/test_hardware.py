"""The hardware beside a run: the CUDA-to-NVML matching, the sampler (its real no-driver path, and a GPU
source that hangs without stalling training), hardware.jsonl's reader and roll-up, the strip, and the
advice rules on sample traces.

The traces in tests/hardware_traces/ are 90 s of 1 Hz samples in the file's own format, shaped on what NVML
and psutil read for a small MLP on an H100 box (idle-loop-bound: the GPU 11% busy while the loop keeps a
core at 99%; idle-waiting: 18% busy while the host's CPUs are full; busy; memory-full) and on a CPU run
beside busy neighbours (crowded) or alone. No GPU has been lent to this project's sessions yet: the NVML
calls themselves have not run against a real driver here.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from dltui.core.hardware import advice, record, view
from dltui.core.hardware.gpus import CudaDevice, NoGpu, Nvml, NvmlDevice, match, plain_pci
from dltui.core.hardware.record import Gpu, HardwareFile, Sample, read_hardware
from dltui.core.hardware.sampler import Sampler

TRACES = Path(__file__).parent / "hardware_traces"
UUID_A = "GPU-5b4e0c1a-93d2-7f11-8a2b-0c6d2e9f1a77"
UUID_B = "GPU-0a1b2c3d-0000-1111-2222-333344445555"
UUID_C = "GPU-ffffeeee-dddd-cccc-bbbb-aaaa99998888"
NVML = [NvmlDevice(0, UUID_B, "00000000:17:00.0"), NvmlDevice(1, UUID_C, "00000000:65:00.0")]
NVML += [NvmlDevice(2, UUID_A, "00000000:CA:00.0")]


def trace(name: str) -> record.Hardware:
    return read_hardware(TRACES / f"{name}.jsonl")


def end_of(hw: record.Hardware) -> float:
    return hw.samples[-1].t


# -- which NVML device a CUDA device is -------------------------------------------------------------------


def test_match_by_uuid_whatever_the_order_torch_numbers_them_in():
    """torch's cuda:0 under CUDA_VISIBLE_DEVICES=2 is NVML's device 2, found by its UUID (torch writes it
    without the GPU- prefix)."""
    cuda0 = CudaDevice(0, UUID_A.removeprefix("GPU-"), "")
    assert match(cuda0, NVML, "2").index == 2
    assert match(cuda0, NVML, None).index == 2  # the UUID wins over the same index


def test_match_by_pci_address_when_there_is_no_uuid():
    assert plain_pci("00000000:65:00.0") == plain_pci("0000:65:00") == (0, 0x65, 0)
    assert match(CudaDevice(0, "", "0000:65:00"), NVML, None).index == 1
    assert match(CudaDevice(0, "", "0000:ca:00"), NVML, "0").index == 2


def test_match_by_cuda_visible_devices_as_the_last_resort():
    """Without UUID or PCI address: cuda:i is the i-th entry of CUDA_VISIBLE_DEVICES (an index or a UUID
    prefix), the same index when it is unset, and nothing when it hides every GPU."""
    assert match(CudaDevice(0), NVML, "2,0").index == 2
    assert match(CudaDevice(1), NVML, "2,0").index == 0
    assert match(CudaDevice(0), NVML, "GPU-ffffeeee").index == 1
    assert match(CudaDevice(1), NVML, None).index == 1
    assert match(CudaDevice(0), NVML, "") is None
    assert match(CudaDevice(3), NVML, "2,0") is None


# -- the sampler ------------------------------------------------------------------------------------------


class FakeNvml:
    """Stands in for NVML on this machine, which has no NVIDIA driver: two GPUs, the run on cuda:0 (NVML's
    device 1 under CUDA_VISIBLE_DEVICES=1,0). Only the mapping and recording are tested with it."""

    def __init__(self):
        self.gpus = [NvmlDevice(0, UUID_B, "00000000:17:00.0"), NvmlDevice(1, UUID_A, "00000000:65:00.0")]
        self.opened: list[int] = []

    def start(self) -> None:
        pass

    def open(self, cuda):
        self.opened = [match(c, self.gpus, "1,0").index for c in cuda]
        return ""

    def read(self):
        return [
            {"index": 0, "uuid": "5b4e0c1a", "name": "fake", "util": 87.0, "mem": 3 << 30, "total": 80 << 30}
        ]


def wait_for(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_the_no_driver_path_runs_for_real_and_is_quiet(tmp_path):
    """This machine has no NVIDIA driver: the real NVML source says so in one phrase; CPU figures come."""
    with pytest.raises(NoGpu) as e:
        Nvml().start()
    assert "CPU figures only" in str(e.value) or "not installed" in str(e.value)
    s = Sampler(tmp_path, interval=0.05).start()
    assert len(read_hardware(tmp_path).samples) == 1  # the first sample is written as the sampler starts
    s.use("cpu", [], "", threads=1, why="small ops")
    wait_for(lambda: s.samples >= 3)
    s.stop()
    hw = read_hardware(tmp_path)
    assert hw.info.note == str(e.value)
    assert all(x.gpus == [] and x.rss > 0 and x.htotal > 0 and x.host for x in hw.samples)
    st = view.strip(hw, 80)
    assert st.note == str(e.value) and "CPU" in st.line and "GPU" not in st.line


def test_gpu_samples_name_the_run_s_gpu(tmp_path):
    fake = FakeNvml()
    s = Sampler(tmp_path, interval=0.05, gpu_source=fake).start()
    s.use("cuda:0", [CudaDevice(0, UUID_A.removeprefix("GPU-"))], threads=2, why="big")
    s.epoch(1, 5 << 30)
    wait_for(lambda: read_hardware(tmp_path).samples and read_hardware(tmp_path).samples[-1].gpus)
    s.stop()
    assert fake.opened == [1]
    hw = read_hardware(tmp_path)
    assert hw.info.note == "" and hw.info.threads == 2
    fig = view.figures(hw)
    assert fig["gpu_util"] == 87.0 and fig["gpu_mem"] == 3 << 30 and fig["torch_peak"] == 5 << 30
    assert "GPU0" in view.strip(hw, 80).line and "87%" in view.strip(hw, 80).line


class Dies(FakeNvml):
    """A GPU source that fails on its third reading (a driver reset, say)."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.reads >= 3:
            raise RuntimeError("NVML went away")
        return super().read()


def test_a_gpu_source_that_dies_is_dropped_with_a_note_and_cpu_samples_go_on(tmp_path):
    s = Sampler(tmp_path, interval=0.05, gpu_source=Dies()).start()
    s.use("cuda:0", [CudaDevice(0, UUID_A)], threads=1, why="small ops")
    wait_for(lambda: s.samples >= 8)
    s.stop()
    hw = read_hardware(tmp_path)
    assert hw.info.note == "GPU figures stopped (RuntimeError); CPU figures only" and hw.info.threads == 1
    with_gpu = [x for x in hw.samples if x.gpus]
    assert len(with_gpu) == 2 and hw.samples[-1].gpus == [] and hw.samples[-1].rss > 0


class Hangs(FakeNvml):
    """A GPU source whose first call never returns (a stuck NVML call), until the test lets it go."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def start(self) -> None:
        self.release.wait()


def test_a_hung_sampler_never_stalls_or_fails_training(tmp_path, monkeypatch, runs_dir, data_dir):
    """The sampler's thread is stuck in NVML for the whole run: the run still trains to its end, and its
    CPU samples before the hang are kept."""
    from dltui.core.executors import runner
    from dltui.core.hardware import sampler as sampler_mod
    from dltui.core.spec.presets import load as load_preset
    from dltui.core.store.folder import RunStore

    hung = Hangs()
    monkeypatch.setattr(sampler_mod, "Nvml", lambda: hung)
    (p,) = [x for x in runner.plan(load_preset("toy2d"), {"epochs": 3}) if x.variant == "gmm"]
    try:
        ended = runner.run_one(p, RunStore(runs_dir), data_dir)
    finally:
        hung.release.set()
    assert ended.status == "finished"
    (run,) = RunStore(runs_dir).list()
    assert run.status["status"] == "finished" and [r["epoch"] for r in run.metrics()] == [0, 1, 2, 3]


def test_a_run_writes_hardware_and_chooses_its_threads(cli, runs_dir):
    """`dltui run` on this machine: samples from its first second, one thread for toy2d's small ops."""
    res = cli("run", "toy2d", "-v", "gmm", "--epochs", "3")
    assert res.exit_code == 0, res.output
    (folder,) = runs_dir.iterdir()
    hw = read_hardware(folder)
    assert hw.samples and hw.info.threads == 1 and "small ops" in hw.info.why
    assert hw.samples[0].t < hw.epochs[0].t  # sampled from the run's start, before its first epoch ends
    assert [e.epoch for e in hw.epochs] == [0, 1, 2, 3]  # epoch 0: the record at initialisation
    status = json.loads((folder / "status.json").read_text())
    assert status["device_name"] == "cpu, 1 thread"


# -- the file: damage and bounds --------------------------------------------------------------------------


def test_the_reader_keeps_the_good_lines_of_a_damaged_file(tmp_path):
    good = record.ENCODE.encode(Sample(10.0, "h", 1, cpu=50.0, rss=100)).decode()
    lines = [
        good,
        "\xff\xfe not json",
        '{"k": "s", "t": "soon"}',
        '{"k": "s", "t": 11, "cpu": -5}',
        '{"k": "s", "t": 12, "gpus": [{"index": 0, "util": NaN}]}',
        '{"k": "x", "t": 13}',
        '{"k": "e", "t": 14, "epoch": 2, "peak": 9}',
        '{"k": "s", "t": 15, "cpu": 1',  # cut off by a crash
    ]
    (tmp_path / record.FILE).write_text("\n".join(lines))
    hw = read_hardware(tmp_path)
    assert [s.t for s in hw.samples] == [10.0] and [e.epoch for e in hw.epochs] == [2]
    (tmp_path / "x").mkdir()
    assert read_hardware(tmp_path / "x" / record.FILE).samples == []  # absent: nothing, no error


def test_a_long_run_s_file_stays_bounded_and_keeps_its_means(tmp_path):
    f = HardwareFile(tmp_path)
    for i in range(3000):
        f.add(Sample(float(i), "h", 1, cpu=float(i % 2) * 100, gpus=[Gpu(0, util=float(i % 2) * 100)]))
    for e in range(2000):
        f.add(record.Epoch(float(e), e, "h", 1, peak=e))
    f.close()
    hw = read_hardware(tmp_path)
    assert len(hw.samples) <= record.MAX_SAMPLES and len(hw.epochs) <= record.MAX_EPOCHS
    assert sum(s.n for s in hw.samples) == 3000
    assert [s.n for s in hw.samples[-record.KEEP // 2 :]] == [1] * (record.KEEP // 2)
    assert view.figures(hw)["gpu_util"] == 50.0 and view.figures(hw)["torch_peak"] == 1999
    assert (tmp_path / record.FILE).stat().st_size < 400_000


# -- the strip ------------------------------------------------------------------------------------------


def test_the_strip_is_one_line_at_80_columns_and_more_at_140():
    hw = trace("gpu-busy")
    one = view.strip(hw, 80)
    assert len(one.line) <= 80 and "GPU0" in one.line and "RSS" in one.line
    tall = view.strip(hw, 140, tall=True)
    assert len(tall.lines(True)) >= 2 and all(len(line) <= 140 for line in tall.lines(True))
    assert "W" in tall.line and "host gpu-box-1" in tall.more[-1]


def test_runs_on_one_gpu_are_shown_sharing_it_and_the_nodes_listed():
    a, b, c = trace("gpu-busy"), trace("gpu-idle-loop-bound"), trace("cpu-alone")
    c.samples[-1].host = "cpu-node"
    now = end_of(a)
    assert view.sharing({"a": a, "b": b, "c": c}, now) == {"a": ["b"], "b": ["a"]}
    panel = view.nodes({"a": a, "b": b, "c": c}, now)
    assert panel[0].startswith("cpu-node CPU") and "1 run" in panel[0]
    assert panel[1].startswith("gpu-box-1 GPU0") and "2 runs" in panel[1]


# -- advice -----------------------------------------------------------------------------------------------


def test_an_idle_gpu_is_said_with_its_likely_cause():
    loop = advice.advise(trace("gpu-idle-loop-bound"), end_of(trace("gpu-idle-loop-bound")))
    assert len(loop) == 1 and "GPU0 was busy" in loop[0] and "larger batch_size" in loop[0]
    waiting = advice.advise(trace("gpu-idle-waiting"), end_of(trace("gpu-idle-waiting")))
    assert len(waiting) == 1 and "data path" in waiting[0]


def test_busy_runs_stay_silent_and_full_memory_is_said():
    assert advice.advise(trace("gpu-busy"), end_of(trace("gpu-busy"))) == []
    assert advice.advise(trace("cpu-alone"), end_of(trace("cpu-alone"))) == []
    (full,) = advice.advise(trace("gpu-memory-full"), end_of(trace("gpu-memory-full")))
    assert "GPU0 memory is 89%" not in full and "full" in full and "smaller batch_size" in full


def test_a_crowded_cpu_is_said_and_a_run_s_first_seconds_never_are():
    hw = trace("cpu-crowded")
    (line,) = advice.advise(hw, end_of(hw))
    assert "other processes hold the cores" in line
    early = record.Hardware(hw.samples[:10], [], hw.infos)
    assert advice.advise(early, early.samples[-1].t) == []
    idle = trace("gpu-idle-loop-bound")
    assert advice.advise(idle, end_of(idle) + 3600) == []  # an old trace: nothing about now


# -- the faces ----------------------------------------------------------------------------------------------


def test_the_lab_strip_is_one_line_small_and_says_more_big(tmp_path):
    """tui/lab/hardware.py's text for a run beside another on its GPU: small, one line with the sharing;
    big, the GPU line, the host line, the sharing and the advice of an idle GPU."""
    import shutil

    from dltui.tui.lab.hardware import strip_text

    for rid, name in (("a", "gpu-idle-loop-bound"), ("b", "gpu-busy")):
        (tmp_path / rid).mkdir()
        shutil.copy(TRACES / f"{name}.jsonl", tmp_path / rid / record.FILE)
    now = end_of(trace("gpu-busy"))
    small = strip_text(tmp_path, "a", ["a", "b"], 60, False, now)
    assert "\n" not in small.plain and small.plain.startswith("GPU0 ") and "shared with 1 run" in small.plain
    big = strip_text(tmp_path, "a", ["a", "b"], 138, True, now).plain.splitlines()
    assert big[0].startswith("GPU0 ") and big[1].startswith("CPU ") and "host gpu-box-1" in big[1]
    assert any("GPU shared with 1 other run" in line for line in big)
    assert any(line.startswith("GPU0 was busy") for line in big)
    assert strip_text(tmp_path, "a", [], 138, True, now).plain.count("busy") == 0  # ended: no advice
    assert strip_text(tmp_path, "missing", [], 80, False, now).plain == ""  # no samples: out of sight


def test_show_and_compare_print_the_hardware(cli, runs_dir):
    assert cli("run", "toy2d", "-v", "gmm", "--epochs", "2").exit_code == 0
    shown = cli("show", "latest").output
    assert "hardware (" in shown and "CPU mean" in shown and "RSS peak" in shown
    assert "CPU figures only" in shown  # this machine's quiet note, and no traceback
    compared = cli("compare", "latest", "latest").output
    assert "samples/s" in compared and "peak mem" in compared
