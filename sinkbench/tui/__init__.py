"""The interactive session (`sinkbench [SCENARIO]`).

Two layers. The core — `session`, `frames`, `form`, `faults` and `command`'s
argument handling — never imports Textual: it drives the same `BenchRun` as
`sinkbench run` and turns its snapshots into immutable `Frame`s. The Textual
layer — `app`, `screens/`, `widgets/` and `sinkbench.tcss` — renders frames a
few times a second and turns keys into calls on the session.
"""
