"""Devices: drivers built from config through the transport registry, and the device monitor."""
