"""One module per command group; each offers `register(subparsers)`."""
