"""Synthetic worlds in socialrank's landing formats: the bundled sample (``socialrank demo-data``), the large
benchmark world and rank-data-shaped worlds for the estimator's tests. Not part of the runtime package
``pipeline``, which never imports it except for the ``demo-data`` command."""
