"""MQTT: commands and replies, events, Home Assistant discovery, Hermes compatibility."""
