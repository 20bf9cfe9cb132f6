"""Files: the .lwnet file (lwnet: bounded, validated reading, atomic writing, migration; checks:
the member-by-member validation), kept runs (runs) and exports (export, export_python)."""
