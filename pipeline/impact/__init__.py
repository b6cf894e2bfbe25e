"""Impact estimation (SPEC section 7): Callaway & Sant'Anna staggered difference in differences.

:mod:`pipeline.impact.estimator` works on any panel (the ``socialrank estimate`` command);
:mod:`pipeline.impact.mart` fills ``mart.impact_estimates`` and ``mart.impact_event_time`` and
:mod:`pipeline.impact.correlations` ``mart.factor_correlations`` and
:mod:`pipeline.impact.engagement` ``mart.engagement_comparison`` during a warehouse build. None of
them imports the estimation libraries until an estimate is asked for, so importing this package stays
cheap (DAG files import the pipeline).
"""

from pipeline.impact.correlations import write_correlations
from pipeline.impact.engagement import write_engagement
from pipeline.impact.mart import write_estimates

__all__ = ["write_correlations", "write_engagement", "write_estimates"]
