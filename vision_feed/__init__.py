"""Camera congestion estimation (OpenCV) and its publication per road edge. Never imports `dispatch`."""
