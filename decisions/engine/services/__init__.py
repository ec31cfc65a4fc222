"""Engine services: the inputs read, recompute and its runs, the writing of decisions and notices, recovery."""
