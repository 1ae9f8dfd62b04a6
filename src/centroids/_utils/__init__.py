"""Helpers shared by several layers: input validation (:mod:`.validation`), whole-or-nothing
file writes (:mod:`.files`) and number formatting (:mod:`.format`). Nothing here imports
the estimators, the store or the report."""
