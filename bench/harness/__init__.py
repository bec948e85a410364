"""What every benchmark shares: results and alarms, schemas, the server, wrk, the report.

Each benchmark is then only its phases. Scripts import it as ``bench.harness``; run one
as ``python -m bench.<name>`` or as a file (``python bench/<name>.py``).
"""
