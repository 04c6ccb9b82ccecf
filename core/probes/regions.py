"""The decision-regions probe: what a 2-D classifier predicts over a grid around its data (the course's
pictures)."""

from __future__ import annotations

from typing import Any

import torch

from ..rules.errors import BadInput
from ..train.hooks import Probe, ProbeContext

GRID = 40  # the regions grid is GRID x GRID points
MAX_POINTS = 300  # data points drawn over the regions
N_SNAPSHOTS = 25  # regions snapshots over a run when record_epochs is not given


class Regions(Probe):
    """Snapshots kind "regions": the predicted class on a grid over the data, and a sample of the points."""

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        d = ctx.data
        if tuple(d.input_shape) != (2,) or d.kind != "classification":
            raise BadInput(
                f"probes: 'regions' needs a classifier of 2-D points (task toy2d), not task {ctx.cfg.task}; "
                "remove it from probes"
            )
        pts = d.test_x[:MAX_POINTS]
        self.points = {
            "x": _rounded(pts[:, 0]),
            "y": _rounded(pts[:, 1]),
            "label": d.test_y[:MAX_POINTS].tolist(),
        }
        both = torch.cat([d.train_x, d.test_x])
        lo, hi = both.min(0).values, both.max(0).values
        pad = 0.05 * (hi - lo)
        self.xs = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), GRID)
        self.ys = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), GRID)
        gy, gx = torch.meshgrid(self.ys, self.xs, indexing="ij")
        self.grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(d.train_x.device)

    def due(self, epoch: int) -> bool:
        """At record_epochs if given, else at the first, the last and about N_SNAPSHOTS epochs between."""
        cfg = self.ctx.cfg
        if cfg.record_epochs:
            return epoch in cfg.record_epochs or epoch == cfg.epochs
        return epoch == 1 or epoch == cfg.epochs or epoch % max(1, cfg.epochs // N_SNAPSHOTS) == 0

    @torch.no_grad()
    def predict_grid(self) -> list[list[int]]:
        """The predicted class at each grid point, one row per y value."""
        model = self.ctx.model
        model.eval()
        return model(self.grid).argmax(1).view(GRID, GRID).tolist()

    def snapshots(self, epoch):
        if self.every is None and not self.due(epoch):  # else probe_every's schedule
            return []
        data: dict[str, Any] = {
            "xs": _rounded(self.xs),
            "ys": _rounded(self.ys),
            "classes": self.predict_grid(),
            "points": self.points,
            "n_classes": self.ctx.data.n_classes,
        }
        return [("regions", data)]


def _rounded(t: torch.Tensor) -> list[float]:
    """Coordinates to 4 decimals: plenty for a terminal plot, and a third of the JSON."""
    return [round(v, 4) for v in t.tolist()]
