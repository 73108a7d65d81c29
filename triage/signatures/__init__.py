"""Rule signatures: loading rule files and catalogs, evaluating them over events, writing findings."""
