"""Sensor kinds: each turns observations plus a cursor into run requests plus a new cursor."""
