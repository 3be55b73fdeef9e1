"""What a briefing becomes outside the 汇报 page. ``snapshot`` freezes a ``briefing.Briefing`` into
plain JSON values — the title, the period and filters, every KPI with its change and compared period,
the summary text, every chart's data as a labelled table, the footnote — the one form the other two
modules read: ``office`` writes it as an editable Word document and a PowerPoint deck with native
charts, and ``archive`` keeps it, append-only, in the data directory so that what was reported can
be shown again as it was and compared with today's data."""
