"""A training run and its one owner, the recipe.

recipe (`Recipe`, `PretrainConfig`, `DataRef`, `run_recipe`: every run goes through it) ·
config (`TrainConfig`) · loop (`train`: the one training loop) · pretrain (greedy layer-wise
pre-training as stages of that loop) · pretrain_parts (blocks, heads, decoders) · compare
(`compare_pretraining`) · setup (device, precision, where a run starts) · optim (optimizers,
schedules, optimizer state) · objective (losses) · distributed (torchrun) · checkpoints ·
events (`Control`, callbacks, event records) · history · probes · live (boundary, confusion,
filters) · diagnostics (probe statistics in plain words).
"""
