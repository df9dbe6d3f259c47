"""When and how test calls are placed: time bands, the weekly plan, limits, dispatch, the scheduler process."""
