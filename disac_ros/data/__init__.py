"""The multi-view RF-visual dataset: generation (Genesis + radar), storage (HDF5) and PyTorch datasets."""
