"""A seeded generator of burn-in fleets with injected faults and their ground truth.

`plan.plan_fleet` draws the nodes (identities, file formats, faults, benign noise);
one writer module per artifact turns a node into files; `generate.py` writes them with
`truth.csv`. See datasets/README.md for how faults are drawn and what each leaves behind.
"""
