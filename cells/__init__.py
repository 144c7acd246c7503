"""Parameterized SKY130 circuit cells: one module per cell.

Each cell is one frozen parameter object — the single source of truth for netlist, layout
and schematic — with `ports`, `devices()` (the transistor list layout and LVS read; the
netlist text is generated from it) and `subckt()`; each module has its testbenches,
`characterize(workers, progress)`, `plot(sheet, directory)`, `GOLDEN` and `TOLERANCES`.

* `cells.bmru.BmruCell` — hysteretic BMRU cell (ports vdd vss in bp out)
* `cells.dense.DenseBlock` — ReLU(W·x + b) with signed unit-count weights
* `cells.bias.BiasTree` — iref → bias lines bn/bp (and explicit outputs)
* `cells.mirror.Mirror` — unit-device current mirror (ratios k/M)
* `cells.corrections` — fitted per-condition corrections for the software model
"""
