"""Impact estimation (SPEC section 7): Callaway & Sant'Anna staggered difference in differences.

:mod:`pipeline.impact.estimator` works on any panel (the ``socialrank estimate`` command);
:mod:`pipeline.impact.mart` fills ``mart.impact_estimates`` and ``mart.impact_event_time`` during a
warehouse build. Neither imports the estimation library until an estimate is asked for, so importing
this package stays cheap (DAG files import the pipeline).
"""

from pipeline.impact.mart import write_estimates

__all__ = ["write_estimates"]
