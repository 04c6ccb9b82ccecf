"""Why a run behaves as it does: probes that measure during training (core/spec/probes.py is their table and
says what probe, view and instrument mean): the ones a run gets without asking (defaults), the instruments a
user switches on (instruments: sharpness, update ratios, dead units, confusion; the Hessian's top eigenvalue
in sharpness), per-layer gradient norms (gradients), per-class accuracy and hidden similarity (classes),
decision regions (regions); and two runs of their own: the learning-rate range test and the gradient check.

May import: everything below (rules, data, spec, readout, store, train). Imports torch.
"""
