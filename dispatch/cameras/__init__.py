"""Cameras: the registry `vision_feed` samples, with each camera's latest congestion reading."""
