"""The network document: `NetworkSpec` (plain data) and everything read off it without training.

spec (nodes and edges) · parse (reading and checking a spec's dict) · catalogue (`LAYERS`, the
one description of each layer kind) · schema (`Param`, a parameter's type, default and range) ·
shapes (per-kind shape rules) · analysis (`analyze`) · model (`build` -> `Model`) · modules (merge
modules) · init (weight initialisation) · layout (auto-layout) · describe (short descriptions) ·
transfer (weights carried over between edited versions of a network).
"""
