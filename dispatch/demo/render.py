"""Simulated camera footage for the demo, drawn with OpenCV, for when no real clip is at hand.

A fixed camera looks across a four-lane road; cars (textured rectangles) drive left and right at
a density and speed set by the scenario. The clip is written once to a video file and then read
by `vision_feed` like any recorded camera, so the demo's readings come from the real estimator,
not from numbers we made up. An empty-road picture of the same scene is the camera's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 320, 240  # the estimator's analysis size: no rescaling
ROAD_TOP, LANE_H, LANES = 60, 30, 4
CAR_W, CAR_H = 36, 20
FPS = 10.0
SECONDS = 30.0
# Lane mask of the road, in this footage's pixels (see config/cameras.toml for the format).
LANE_MASK = [(0, ROAD_TOP), (WIDTH, ROAD_TOP), (WIDTH, ROAD_TOP + LANES * LANE_H),
             (0, ROAD_TOP + LANES * LANE_H)]


@dataclass(frozen=True)
class Scenario:
    name: str
    cars_per_lane: int
    speed_px_s: float


SCENARIOS = {
    # Optical flow tracks about 5 px a frame at most well, so free flow stays under that.
    "free": Scenario("free", 1, 50.0),
    "slow": Scenario("slow", 4, 18.0),
    "jammed": Scenario("jammed", 8, 4.0),
}


def _empty_road(rng: np.random.Generator) -> np.ndarray:
    """Pavement, kerbs, lane markings and a textured asphalt that optical flow can track."""
    image = np.full((HEIGHT, WIDTH, 3), (150, 155, 150), np.uint8)  # pavement
    road = slice(ROAD_TOP, ROAD_TOP + LANES * LANE_H)
    image[road] = (88, 90, 92)
    noise = rng.normal(0, 6, (LANES * LANE_H, WIDTH, 1))
    image[road] = np.clip(image[road].astype(np.float64) + noise, 0, 255).astype(np.uint8)
    for lane in range(1, LANES):
        y = ROAD_TOP + lane * LANE_H
        colour = (40, 200, 230) if lane == LANES // 2 else (230, 230, 230)
        for x in range(0, WIDTH, 32):
            cv2.line(image, (x, y), (x + 16, y), colour, 2)
    for x in range(0, WIDTH, 48):  # buildings beyond the pavement
        cv2.rectangle(image, (x + 4, 0), (x + 40, ROAD_TOP - 14), (120, 110, 170), -1)
        cv2.rectangle(image, (x + 6, HEIGHT - 40), (x + 44, HEIGHT), (170, 140, 110), -1)
    return image


def _car(rng: np.random.Generator) -> np.ndarray:
    # Body colours whose grey is far from the asphalt's, as real cars mostly are to a camera.
    body = tuple(int(c) for c in rng.choice([(240, 240, 240), (200, 200, 200), (25, 25, 25),
                                             (20, 20, 120), (0, 200, 230), (230, 200, 150)]))
    car = np.zeros((CAR_H, CAR_W, 3), np.uint8)
    car[:] = body
    cv2.rectangle(car, (9, 3), (26, CAR_H - 4), (50, 60, 70), -1)  # windows
    cv2.rectangle(car, (12, 5), (23, CAR_H - 6), body, -1)  # roof
    for x in (3, CAR_W - 6):
        cv2.rectangle(car, (x, 0), (x + 3, 2), (20, 20, 20), -1)
        cv2.rectangle(car, (x, CAR_H - 3), (x + 3, CAR_H - 1), (20, 20, 20), -1)
    return car


def render_feed(scenario: Scenario, clip: Path, empty: Path, *, seed: int = 15) -> None:
    """Write `clip` (MJPG AVI, 30 s at 10 fps) and `empty` (the reference picture)."""
    rng = np.random.default_rng(seed)
    background = _empty_road(rng)
    clip.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(empty), background)
    spacing = (WIDTH + CAR_W) / scenario.cars_per_lane
    cars = []  # (lane, start x, image)
    for lane in range(LANES):
        for k in range(scenario.cars_per_lane):
            cars.append((lane, k * spacing + rng.uniform(0, spacing - CAR_W), _car(rng)))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write simulated footage to {clip}")
    try:
        for index in range(int(SECONDS * FPS)):
            frame = background.copy()
            moved = scenario.speed_px_s * index / FPS
            for lane, start, car in cars:
                direction = 1 if lane < LANES // 2 else -1
                x = int((start + direction * moved) % (WIDTH + CAR_W)) - CAR_W
                y = ROAD_TOP + lane * LANE_H + (LANE_H - CAR_H) // 2
                left, right = max(x, 0), min(x + CAR_W, WIDTH)
                if right > left:
                    frame[y:y + CAR_H, left:right] = car[:, left - x:right - x]
            noise = rng.normal(0, 2.5, frame.shape)  # sensor noise: a live feed never freezes
            writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    finally:
        writer.release()


def simulated_feed(folder: Path, name: str) -> tuple[Path, Path]:
    """The scenario's clip and empty-road picture under `folder`, rendered on first use."""
    scenario = SCENARIOS[name]
    stem = f"simulated-{name}-{scenario.cars_per_lane}x{scenario.speed_px_s:g}"
    clip, empty = folder / f"{stem}.avi", folder / f"{stem}-empty.png"
    if not (clip.is_file() and empty.is_file()):
        render_feed(scenario, clip, empty)
    return clip, empty
