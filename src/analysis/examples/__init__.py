"""Generators of the embedded example extracts.

Each module writes one synthetic extract, shaped like a particular
case-management system rather than like the toolkit's canonical cohort, into
``examples/<name>/`` next to the study file that reads it:

- :mod:`analysis.examples.rearrest`: rearrest within three years of release
  (``examples/rearrest/``).
"""
