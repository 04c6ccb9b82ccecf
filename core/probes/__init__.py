"""Why a run behaves as it does: probes that measure during training (gradient norms, per-class accuracy,
sharpness, update ratios, dead units, confusion, decision regions), the learning-rate range test and the
gradient check.

May import: everything below (rules, data, spec, readout, store, train). Imports torch.
"""
