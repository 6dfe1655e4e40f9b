"""The run loop: the probe cycle and its scheduling, cluster discovery from PMM, the probing child process, garbage
collection once per cycle, and logging."""
