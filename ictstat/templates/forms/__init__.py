"""One module per form; each declares ``TEMPLATES``, a list of every version of its form still accepted."""
