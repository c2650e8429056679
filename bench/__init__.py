"""Benchmark of pdp against Cedar, Rego and Casbin on one data-use policy.

Run ``python bench/compare.py --help``. The modules:

- ``workload``: the seeded requests and the extra, never-matching rules;
- ``reference``: the plain-Python oracle every engine must agree with;
- ``engines``: one adapter per engine (Cedar, Rego, Casbin x2, pdp, Python);
- ``timing``: warm-up, then single calls each timed alone;
- ``report``: the markdown report;
- ``compare``: the command line.
"""
