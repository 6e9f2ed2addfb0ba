"""On-call (issue 11): schedules, rotations, overrides, escalation policies, pages. The rotation
math is `rotation.py`, pure functions over plain values so that it can be tested on any clock."""
