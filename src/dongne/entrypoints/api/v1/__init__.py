"""``/api/v1``: the service citizens' phones, merchants' counters, city offices and partners use."""
