"""Road graph, live-congestion travel times and nearest-unit ETAs.

Never imports `dispatch`: it takes plain data (unit positions, congestion maps) and returns
plain dataclasses.
"""
