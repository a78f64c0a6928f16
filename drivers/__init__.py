"""Device drivers: one module per device class, each wrapping one real library."""
