"""What the read side reports to Prometheus: its position and lag, and business figures."""
