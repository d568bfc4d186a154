"""``python -m edgesense.cli`` (Airflow's plugin loader imports this file too: hence the guard)."""

from edgesense.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
