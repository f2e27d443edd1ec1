"""LLM-DiSAC networks (paper Sec. IV): RVFN, LSTN, TRAM, heads and losses, one module each."""
