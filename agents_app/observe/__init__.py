"""What an operator sees of the service: Prometheus metrics, and one figures line per run."""
