"""The command line: argument parsing, the serve and check commands, and the demo (the only place the simulator is
entered)."""
