"""Kill things under load and check that nothing acknowledged is lost or doubled."""
