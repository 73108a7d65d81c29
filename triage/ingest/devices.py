"""Naming GPUs that a tool only knew by index.

dcgmi, nvbandwidth and nccl-tests number GPUs 0-7 (`gpu3`, `gpu0->gpu1`); the inventory
(nvidia-smi) of the same host says which PCI address each index is. Once both are in
the store, the index names in `measurements`, `test_runs` and `assets` (a GPU serial
dcgmi printed) are replaced by the PCI address, so every table names a GPU the same
way whatever order files arrived in.
"""

from __future__ import annotations

from triage.store import Store

_TABLES = ("measurements", "test_runs", "assets")


def resolve_gpu_indexes(store: Store, hosts: list[str]) -> int:
    """Replace `gpuN` (alone or in `a->b` pairs) by the PCI address of GPU N of the same host; returns rows changed."""
    if not hosts:
        return 0
    changed = 0
    for table in _TABLES:
        before = _unresolved(store, table, hosts)
        if before == 0:
            continue
        store.execute(
            f"""
            UPDATE {table} AS t SET device = r.resolved
            FROM (
                SELECT u.host, u.device,
                       string_agg(coalesce(a.pci_bdf, p.part), '->' ORDER BY p.pos) AS resolved
                FROM (SELECT DISTINCT host, device FROM {table}
                      WHERE host IN (SELECT unnest(?)) AND regexp_matches(device, '(^|->)gpu[0-9]+($|->)')) AS u,
                     unnest(string_split(u.device, '->')) WITH ORDINALITY AS p(part, pos)
                LEFT JOIN (SELECT host, index, any_value(pci_bdf) AS pci_bdf FROM assets
                           WHERE kind = 'gpu' AND index IS NOT NULL AND pci_bdf IS NOT NULL
                           GROUP BY host, index HAVING count(DISTINCT pci_bdf) = 1) AS a
                  ON a.host = u.host AND p.part = 'gpu' || a.index
                GROUP BY u.host, u.device
            ) AS r
            WHERE t.host = r.host AND t.device = r.device AND r.resolved <> r.device
            """,
            [hosts],
        )
        changed += before - _unresolved(store, table, hosts)
    return changed


def _unresolved(store: Store, table: str, hosts: list[str]) -> int:
    frame = store.frame(
        f"SELECT count(*) AS n FROM {table} WHERE host IN (SELECT unnest(?)) "
        "AND regexp_matches(device, '(^|->)gpu[0-9]+($|->)')",
        [hosts],
    )
    return int(frame["n"][0])
