"""The epoch in flight: its sample order, its steps' losses and predictions (on the device, summed once at its
end), and what a stop mid-epoch checkpoints, so that a resumed run goes on from the same step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import TaskData
from ..spec.config import RunConfig

Tensor = torch.Tensor


@dataclass
class InFlight:
    """The epoch being trained. A resumed epoch starts at sample `first` with the sums of the part before
    it."""

    order: Tensor | None  # the epoch's sample order (None: the training set as it is)
    first: int  # the first sample this process trains in the epoch
    loss_sum: Tensor  # summed loss and correct count carried over from before `first`
    correct: Tensor
    losses: list[Tensor] = field(default_factory=list)  # each step's mean loss, from `first` on
    start: int = 0  # the first sample of the step about to run
    # What a checkpoint kept of the part before `first` (None if it kept none): each step's mean loss [k] and
    # the predicted classes of samples 0 to `first` (classification); a batched group adopts the epoch so
    past_losses: Tensor | None = None
    past_preds: Tensor | None = None

    @classmethod
    def fresh(cls, order: Tensor | None, device: torch.device) -> InFlight:
        return cls(order, 0, torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long))

    @classmethod
    def resumed(cls, partial: dict[str, Any] | None, device: torch.device) -> InFlight | None:
        """The epoch a checkpoint's `partial` interrupted, from its first step not yet run (None if there is
        none)."""
        if partial is None:
            return None
        order = partial["order"].to(device) if partial["order"] is not None else None
        past = {
            f"past_{k}": partial[k].to(device) if isinstance(partial.get(k), Tensor) else None
            for k in ("losses", "preds")
        }
        return cls(
            order,
            int(partial["start"]),
            partial["loss_sum"].to(device),
            partial["correct"].to(device),
            **past,
        )

    def so_far(self, preds: Tensor) -> dict[str, Tensor]:
        """Each step's mean loss and each sample's predicted class (`preds`: the epoch's buffer, empty for
        regression) from the epoch's first sample up to `start`, for a checkpoint; {} if the part before
        `first` is unknown (a checkpoint written before they were kept)."""
        if self.first and self.past_losses is None:
            return {}
        dev = preds.device
        losses = torch.stack(self.losses).float() if self.losses else torch.zeros(0, device=dev)
        if self.past_losses is not None:
            losses = torch.cat([self.past_losses.float().to(losses.device), losses])
        out = {"losses": losses}
        if preds.numel():
            p = preds[self.first : self.start]
            out["preds"] = p if self.past_preds is None else torch.cat([self.past_preds.to(dev), p])
        return out


class EpochOrder:
    """Each epoch's sample order: none (one full batch), the same stratified order, or a fresh permutation."""

    def __init__(self, cfg: RunConfig, data: TaskData, device: torch.device, batch_size: int):
        self.data, self.device = data, device
        shuffler = (
            data.shuffler
        )  # its generator is the one checkpoints save, so a resumed run keeps its order
        gen_device = device if device.type == "cuda" else "cpu"
        self.gen = (
            shuffler.gen if shuffler is not None else torch.Generator(device=gen_device).manual_seed(cfg.seed)
        )
        self.full = batch_size >= data.n_train
        # Sorted by label (a stable sort keeps each class in its original order), the same every epoch.
        self.fixed = torch.argsort(data.train_y, stable=True) if cfg.order == "stratified" else None

    def next(self) -> Tensor | None:
        if self.full:
            return None
        if self.fixed is not None:
            return self.fixed
        n = self.data.n_train
        if self.data.shuffler is not None:
            return self.data.shuffler.order(n).to(self.device)
        if self.gen.device.type == self.device.type:
            return torch.randperm(n, generator=self.gen, device=self.device)
        return torch.randperm(n, generator=self.gen).to(self.device)


class EpochSums:
    """An epoch's summed loss and correct count from its steps, on the device (no host sync).

    `preds` is the buffer each step writes its predicted classes into (core/train/fastpath.py), compared with
    the labels once per epoch; `batch_sizes` weighs each step's mean loss (the last batch may be smaller).
    """

    def __init__(self, data: TaskData, batch_size: int, device: torch.device):
        n = data.n_train
        self.data, self.batch_size, self.device = data, batch_size, device
        self.classify = data.kind == "classification"
        sizes = [min(batch_size, n - s) for s in range(0, n, batch_size)]
        self.batch_sizes = torch.tensor(sizes, dtype=torch.float32, device=device)
        self.preds = torch.empty(n if self.classify else 0, dtype=torch.long, device=device)

    def totals(self, ep: InFlight, seen: int) -> tuple[Tensor, Tensor]:
        """The epoch's summed loss and correct count up to sample `seen`, the part before `ep.first`
        included."""
        return ep.loss_sum + self.loss_sum(ep.losses, ep.first), ep.correct + self.correct(
            ep.order, seen, ep.first
        )

    def loss_sum(self, losses: list[Tensor], first: int = 0) -> Tensor:
        """The summed per-sample loss of the steps from sample `first` on: each step's mean loss times its
        batch size."""
        if not losses:
            return torch.zeros((), device=self.device)
        k = first // self.batch_size
        return torch.dot(torch.stack(losses).float(), self.batch_sizes[k : k + len(losses)])

    def correct(self, order: Tensor | None, seen: int, first: int = 0) -> Tensor:
        """How many of the epoch's samples `first` to `seen` were predicted right."""
        if not self.classify or seen <= first:
            return torch.zeros((), device=self.device, dtype=torch.long)
        train_y = self.data.train_y
        labels = train_y[first:seen] if order is None else train_y.index_select(0, order[first:seen])
        return (self.preds[first:seen] == labels).sum()
