"""What a run is before it runs: the flat, typed RunConfig and its keys, presets (TOML files, variants,
sweeps), the table of probes and instruments (probes), the views a preset may name, the device choice and the
resource check that refuses a run whose data or model cannot fit (resources), the threads a run takes
(threads), and torch._dynamo kept out of a run that does not compile (nodynamo).

May import: core.rules, core.data (the task registry). Torch-free except device, nodynamo and the CUDA query
of resources (imported lazily).
"""
