//! config.yaml: read, interpolated, validated into a model.
