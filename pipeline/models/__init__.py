"""Classical models on either engine: the algorithms (scikit-learn / cuML), features, training, metrics and the
model card."""
