"""Benchmarks of ictstat at national scale: synthetic inboxes, a naive baseline and the measurements."""
