"""``make bench``: the pipeline's figures, each beside a raw-Postgres baseline from the same run.

Run ``python -m bench`` (or ``platform-events bench``) from a checkout; ``--help`` lists the
sizes. Modules: ``runner`` (arguments, order, output), ``server`` (where the databases live),
``datasets`` (generated data, cached between runs), one module per benchmark (``baseline``,
``emit``, ``streaming``, ``reads``, ``aggregation``, ``retention``, ``peer_pgmq``,
``claim_history``; the last two time our queue alone with ``drain``), ``report`` and ``stats``.
"""
