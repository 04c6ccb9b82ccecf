"""The epoch in flight: what a stop mid-epoch checkpoints, so that a resumed run goes on from the same step."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class InFlight:
    """The epoch being trained. Its steps' losses stay on the device (summed at the epoch's end); a resumed epoch
    starts at sample `first` with the sums of the part before it."""

    order: torch.Tensor | None  # the epoch's sample order (None: the training set as it is)
    first: int  # the first sample this process trains in the epoch
    loss_sum: torch.Tensor  # summed loss and correct count carried over from before `first`
    correct: torch.Tensor
    losses: list[torch.Tensor] = field(default_factory=list)  # each step's mean loss, from `first` on
    start: int = 0  # the first sample of the step about to run
