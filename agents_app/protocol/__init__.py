"""The wire protocol: event models, inbound commands and encoders."""
