"""A group's data: one task's tensors shared by every copy, or each copy's own (a seed that draws its own
data set) stacked; each step's batch gathered in each copy's own order; and the batched evaluation that
gives every copy the losses and accuracies core/train/evaluation.py gives one run."""

from __future__ import annotations

import torch

from ..data import TaskData
from ..train import fastpath
from ..train.evaluation import EVAL_CHUNK, finite
from .stacked import StackedMLP, per_copy_loss

Tensor = torch.Tensor


class GroupData:
    """The copies' data; `shared` when every copy has the very same tensors."""

    def __init__(self, datas: list[TaskData]):
        self.datas = datas
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
        self.datas = [self.datas[i] for i in keep]
        self._stack()

    def batch(self, orders: Tensor | None, same: bool, start: int, bs: int) -> tuple[Tensor, Tensor]:
        """The step's inputs and labels from sample `start`: the whole set (no order: one full batch), one
        batch for all (`same` order, shared data) or [C, bs, ...] in each copy's order."""
        x, y = self.train_x, self.train_y
        if orders is None:
            return x, y
        if self.shared:
            if same:
                idx = orders[0, start : start + bs]
                return x.index_select(0, idx), y.index_select(0, idx)
            idx = orders[:, start : start + bs]
            c, m = idx.shape
            flat = idx.reshape(-1)
            return x.index_select(0, flat).view(c, m, *x.shape[1:]), y.index_select(0, flat).view(
                c, m, *y.shape[1:]
            )
        idx = orders[:, start : start + bs]
        rows = torch.arange(idx.shape[0], device=idx.device).unsqueeze(1)
        return x[rows, idx], y[rows, idx]

    def labels(self, orders: Tensor | None) -> Tensor:
        """Each copy's training labels in its epoch's order ([C, n])."""
        y = self.train_y
        if orders is None:
            return y.expand(len(self.datas), *y.shape) if self.shared else y
        if self.shared:
            return y.index_select(0, orders.reshape(-1)).view(orders.shape[0], -1, *y.shape[1:])
        rows = torch.arange(orders.shape[0], device=orders.device).unsqueeze(1)
        return y[rows, orders]

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
            out = model.forward(xb)
            totals.append(per_copy_loss(loss, out, yb, self.n_classes) * out.shape[1])
            if self.classify:
                preds.append(out.argmax(-1))
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
        d0 = self.datas[0]
        n, nt = d0.n_train, int(d0.test_x.shape[0])
        nv = int(d0.val_x.shape[0]) if has_val else 0
        out = []
        for h in host:
            out.append(
                {
                    "train_loss": finite(h[0] / n),
                    "test_loss": finite(h[2] / nt),
                    "train_acc": h[1] / n if self.classify else None,
                    "test_acc": h[3] / nt if self.classify else None,
                    "val_loss": finite(h[4] / nv) if has_val else None,
                    "val_acc": (h[5] / nv if self.classify else None) if has_val else None,
                }
            )
        return out, test_preds
