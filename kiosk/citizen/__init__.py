"""The citizen transaction: session steps, the PIN, the central client, scanning."""
