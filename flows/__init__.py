"""Flows: the `bmru` CLI, network schema and reference model, mapping, characterization, reports."""
