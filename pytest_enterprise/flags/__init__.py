"""Feature flags (in progress: see the feature-flag issue). Only the bucketing exists so far."""
