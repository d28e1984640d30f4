"""One module per tab; each builds its components inside the open `gr.Tab`."""
