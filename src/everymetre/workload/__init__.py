"""Workload: officers name the inspector of a claim; inspectors see their day's visits by date and place."""
