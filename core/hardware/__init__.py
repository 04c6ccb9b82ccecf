"""The machine beside a run: what the process that trains uses of it, sampled about once a second while it
trains (sampler), the GPUs it sees through NVML, matched to torch's CUDA devices (gpus), the samples' file
in the run folder, bounded for long runs, and its one reader (record), what the faces show of them (view:
the strip, the figures of `show` and `compare`, the GPUs shared and the nodes in use) and the advice a user
can act on (advice).

May import: core.rules, core.spec, core.store. Never torch (the training side hands in what torch knows:
the CUDA devices' identities and the peak memory of each epoch), never textual; psutil and pynvml lazily,
in the process that trains.
"""
