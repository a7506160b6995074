"""Deep learning on a table with PyTorch: data checks, training with callbacks (`training`) and its evaluation."""
