"""``dongne witness serve``: a C2SP tlog-witness, with its own key and its own state."""
