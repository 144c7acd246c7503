"""The resonant recurrent network family R²NN (Jiang et al., arXiv 2604.17277): a lattice of
masses, coupling springs and local resonators stepped by central differences, driven by a
raw waveform as a force on one mass, class scores the energies of output masses.

The schema (`network`), the reference model with its modal view and exact references
(`model`), the tasks (`tasks`), the trainer (`train`), the ideal R, L, C electrical analog
(`analog`) and the family's side of the shared pipeline (`family`).
"""

from flows.r2nn.family import FAMILY  # noqa: E402,F401  (what flows.families registers)
