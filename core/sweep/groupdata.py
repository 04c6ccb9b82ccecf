"""A group's data: one task's tensors shared by every copy, or each copy's own (a seed that draws its own
data set) stacked; each step's batch gathered in each copy's own order; and the batched evaluation that
gives every copy the losses and accuracies core/train/evaluation.py gives one run."""

from __future__ import annotations

import torch

from ..data import TaskData
from ..train import fastpath
from ..train.evaluation import EVAL_CHUNK, figures
from .stacked import StackedMLP, loss_and_grad

Tensor = torch.Tensor
EPOCH_GATHER_BYTES = 32 << 20  # an epoch's data in order at most this big is gathered once, not step by step


class GroupData:
    """The copies' data; `shared` when every copy has the very same tensors."""

    def __init__(self, datas: list[TaskData]):
        self.datas = datas
        self.orders: Tensor | None = None  # the epoch's sample order of each copy ([C, n]), `epoch` sets it
        self.same = False
        self.epoch_x: Tensor | None = None
        self.epoch_y: Tensor | None = None
        self._stack()

    def _stack(self) -> None:
        d0, datas = self.datas[0], self.datas
        self.shared = all(d is d0 for d in datas)
        self.kind, self.n_classes, self.transform, self.n = d0.kind, d0.n_classes, d0.transform, d0.n_train
        self.classify = d0.kind == "classification"
        names = ("train_x", "train_y", "test_x", "test_y", "val_x", "val_y")
        for name in names:
            v = getattr(d0, name)
            if v is not None and not self.shared:
                v = torch.stack([getattr(d, name) for d in datas])
            setattr(self, name, v)

    def select(self, keep: list[int]) -> None:
        """Keep only these copies (the others ended), their epoch's orders and batches with them."""
        self.datas = [self.datas[i] for i in keep]
        self._stack()
        if self.orders is not None:
            idx = torch.tensor(keep, device=self.orders.device)
            self.orders = self.orders.index_select(0, idx)
            if self.epoch_x is not None and not self.same:
                self.epoch_x, self.epoch_y = (
                    self.epoch_x.index_select(0, idx),
                    self.epoch_y.index_select(0, idx),
                )

    def epoch(self, orders: Tensor | None, same: bool) -> None:
        """Ready the epoch's batches from each copy's sample order ([C, n]; None: one full batch). `same`:
        every copy has the same order on shared data, so a batch is one for all. Where the epoch's data in
        order is small (EPOCH_GATHER_BYTES), it is gathered once here, and each step's batch is a slice."""
        self.orders, self.same = orders, same and self.shared
        self.epoch_x = self.epoch_y = None
        if orders is None:
            return
        x, y = self.train_x, self.train_y
        rows = orders.shape[1] * (1 if self.same else orders.shape[0])
        row = (x[0].numel() * x.element_size()) + (y[0].numel() * y.element_size())
        if rows * row <= EPOCH_GATHER_BYTES:
            self.epoch_x, self.epoch_y = self._gather(orders)

    def _gather(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """The samples at `idx` ([C, m]): [m, ...] for all (`same`), else [C, m, ...] in each copy's order."""
        x, y = self.train_x, self.train_y
        if self.same:
            return x.index_select(0, idx[0]), y.index_select(0, idx[0])
        c, m = idx.shape
        if not self.shared:  # each copy's own data: rows of copy i are i·n onwards
            idx = idx + torch.arange(0, c * self.n, self.n, device=idx.device).unsqueeze(1)
            x, y = x.flatten(0, 1), y.flatten(0, 1)
        flat = idx.reshape(-1)
        return x.index_select(0, flat).view(c, m, *x.shape[1:]), y.index_select(0, flat).view(
            c, m, *y.shape[1:]
        )

    def batch(self, start: int, bs: int) -> tuple[Tensor, Tensor]:
        """The step's inputs and labels from sample `start` of the epoch (`epoch` readied it): the whole set
        (no order: one full batch), one batch for all (`same`) or [C, bs, ...] in each copy's order."""
        if self.orders is None:
            return self.train_x, self.train_y
        if self.epoch_x is None:
            return self._gather(self.orders[:, start : start + bs])
        if self.same:
            return self.epoch_x[start : start + bs], self.epoch_y[start : start + bs]
        return self.epoch_x[:, start : start + bs], self.epoch_y[:, start : start + bs]

    def labels(self) -> Tensor:
        """Each copy's training labels in its epoch's order ([C, n], or [n] for all)."""
        y = self.train_y
        if self.orders is None:
            return y
        if self.epoch_y is not None:
            return self.epoch_y
        if self.same:
            return y.index_select(0, self.orders[0])
        return self._gather(self.orders)[1]

    @torch.inference_mode()
    def evaluate(
        self, model: StackedMLP, x: Tensor, y: Tensor, loss: str
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Each copy's summed loss and correct count over (x, y) ([C] each, on the device), and its predicted
        classes ([C, n]; None for regression), in chunks as core/train/evaluation.py takes them."""
        chunk = fastpath.MICRO_BATCH_CPU if x.device.type == "cpu" else EVAL_CHUNK
        per_copy = not self.shared
        n = x.shape[1] if per_copy else x.shape[0]
        totals, preds = [], []
        for s in range(0, n, chunk):
            xb, yb = (
                (x[:, s : s + chunk], y[:, s : s + chunk])
                if per_copy
                else (x[s : s + chunk], y[s : s + chunk])
            )
            if self.transform is not None:
                xb = self.transform(xb)
            z = model.logits(xb, not per_copy, hand=model.by_hand)[0]  # [C, out, B]
            totals.append(loss_and_grad(loss, z, yb, self.n_classes, 1.0, not per_copy, None)[0] * z.shape[2])
            if self.classify:
                preds.append(z.max(1).indices)
        total = totals[0] if len(totals) == 1 else torch.stack(totals).sum(0)
        if not self.classify:
            return total, torch.zeros_like(total), None
        p = torch.cat(preds, 1)
        yy = y if per_copy else y.expand_as(p)
        return total, (p == yy).sum(1).float(), p

    def records(
        self, model: StackedMLP, loss: str, train_sum: Tensor, train_correct: Tensor
    ) -> tuple[list[dict], Tensor | None]:
        """Each copy's epoch figures as core/train/evaluation.py's Evaluator.record gives them, read back in
        one host sync for all copies; and the test predictions ([C, n_test])."""
        vals = [train_sum, train_correct.float()]
        test_loss, test_correct, test_preds = self.evaluate(model, self.test_x, self.test_y, loss)
        vals += [test_loss, test_correct]
        has_val = self.val_x is not None
        if has_val:
            vals += list(self.evaluate(model, self.val_x, self.val_y, loss)[:2])
        host = torch.stack(vals, 1).tolist()  # the epoch's one host sync, for every copy
        out = [figures(h, self.datas[0], self.classify) for h in host]
        return out, test_preds
