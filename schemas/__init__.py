"""Pandera schemas: one per template sheet (generated from the sheet's declaration) and one per published
mart table (written out, stating grain, keys and invariants)."""
