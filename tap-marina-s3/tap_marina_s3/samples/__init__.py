"""Sample MOLO / Stellar exports for demos, end-to-end tests and benchmarks.

Everything per table comes from the catalog (`marina_common/catalog.yml`); relationships and
sizes are small data tables in `relations.py`. Entry points: `generate()` and the console script
`marina-sample-exports` (`tap_marina_s3.samples.cli:main`).
"""

from .generate import generate

__all__ = ["generate"]
