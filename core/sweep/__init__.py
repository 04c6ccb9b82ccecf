"""Sweeps trained as one batched model: variants of one small model that differ only in per-copy values
(lr, momentum, weight decay, seeds) train in one loop, one pass over each batch, their weights stacked
(`grouping`: which variants go together, no torch; `stacked`: the stacked MLP and its optimizer; `trainer`:
the loop, each variant still its own run through its own core/train Trainer).

May import: everything below (rules, data, spec, readout, store, train, probes). Imports torch, except
`grouping`.
"""
