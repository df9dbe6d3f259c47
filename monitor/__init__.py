"""The monitor: plans and places test calls, folds provider events into outcomes, reports on them."""
