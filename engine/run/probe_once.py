"""A trainability check: the probe statistics (engine.run.probes) of one forward and backward
pass on a fixed batch, changing nothing."""
from __future__ import annotations

import torch

from engine.errors import TrainingError
from engine.run.probes import Watch


def probe(network, dataset, samples: int = 500, seed: int = 0, loss: str = "auto",
          device: str = "auto") -> dict[str, dict[str, float]]:
    """The probe statistics of one forward/backward on a fixed batch (the first `samples` of a
    seeded shuffle of the data), without changing any weight, gradient or running statistic:
    a trainability check before training. `network` is a spec (built with `seed`, on `device`)
    or a Model (probed where it is, on its own device). Dropout draws from a private generator
    state, so the caller's random numbers are untouched."""
    from engine.data import load_dataset
    from engine.run.objective import make_objective
    from engine.run.setup import resolve_device, resolve_network
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise TrainingError(f"samples must be a whole number of at least 1, not {samples!r}")
    with torch.random.fork_rng(devices=[]):
        start = resolve_network(network, seed)
        model = start.model
        if model is not network and model is not getattr(network, "model", None):
            model.to(resolve_device(device))     # built here from a spec
        data = load_dataset(dataset).fit_input(model.input_shape)
        objective = make_objective(model, data, loss)
        return _probe_batch(model, data, objective, samples, seed)


def _probe_batch(model, data, objective, samples: int, seed: int) -> dict:
    dev = next(model.parameters(), torch.empty(0)).device
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:samples]
    x, y = data.x[pick].to(dev), data.y[pick].to(dev)
    buffers = {k: v.clone() for k, v in model.state_dict().items()
               if k not in dict(model.named_parameters())}
    was_training = model.training
    watch = Watch(model)
    try:
        model.train()
        torch.manual_seed(seed)
        watch.attach()
        loss = objective.loss(model(x), y)
        return watch.collect(watch.grad(loss, watch.weight_list),
                             watch.layer_output_gradients())
    finally:
        watch.close()
        model.train(was_training)
        model.load_state_dict(buffers, strict=False)
