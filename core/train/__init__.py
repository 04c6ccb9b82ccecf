"""The trainer: the loop and its hooks (trainer), its collaborators beside it (fast path, the epoch in flight,
evaluation, control, checkpoints and what they hold, the summary), the probe interface it calls (hooks), the
lifecycle that turns an ending into a run status, the models, losses and optimizers, and the events it emits
to whoever listens.

May import: core.rules, core.data, core.spec, core.store. Imports torch.
"""
