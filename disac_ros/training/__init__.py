"""Two-stage distributed training (paper Sec. IV-E, Algorithm 5) and its checkpoints."""
