"""What runs in the background of `hakama serve`, one module per job (DESIGN.md)."""
