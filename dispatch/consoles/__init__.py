"""The three web consoles (call-taker, SHO handset, supervisor), served by the API."""
