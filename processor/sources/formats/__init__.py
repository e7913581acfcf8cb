"""Input formats behind one small registry."""
