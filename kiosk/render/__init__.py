"""Renderers: card faces (PNG/PDF at the printer's native resolution) and receipt layouts."""
