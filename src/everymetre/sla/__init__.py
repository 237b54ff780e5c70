"""The legal consideration period (30 days from submission), paused while a claim waits for documents."""
