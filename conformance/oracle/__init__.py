"""Karta as the oracle: Karta's own Go packages read every Snapshot, and their reading is compared
with the harness's, item by item (``karta-conformance check ... --oracle karta``).

``build`` builds ``karta-oracle`` (the Go program in ``karta/``) against the pinned Karta,
``run`` runs it, ``compare`` turns each disagreement into a verdict.
"""
