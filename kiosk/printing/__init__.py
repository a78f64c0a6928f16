"""Printing: plan -> render -> submit -> confirm per job; card faces, receipts, test pages."""
