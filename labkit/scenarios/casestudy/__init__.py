"""The case study (chapter 5): a dashboard that stalls while its Go service looks idle.

Put together from the course's models: ``labkit.models.pool`` is the database connection pool,
``labkit.models.gcpacer`` the collector that every handler's allocation drives, ``labkit.models.scheduler`` the
scheduler that runs the handlers, the dashboard's render loop and the GC workers on GOMAXPROCS
Ps. Modules: ``params`` (inputs and measured constants), ``plan`` (arrivals, DB times, GC),
``program`` (the scheduler program), ``run`` (one run and its metrics), ``dump`` (its goroutine
dumps, made of real ones), ``recording`` (records those from ``go/dashboard``, the service in
Go), ``diagnosis`` (the five-layer table), ``causes`` (the capstone's hidden causes).
"""

from labkit.scenarios.casestudy.params import (
    DB_DRIVERS,
    FIXES,
    IncidentParamError,
    IncidentParams,
)
from labkit.scenarios.casestudy.run import IncidentRun, fix_variants, run_incident

__all__ = [
    "DB_DRIVERS",
    "FIXES",
    "IncidentParamError",
    "IncidentParams",
    "IncidentRun",
    "fix_variants",
    "run_incident",
]
