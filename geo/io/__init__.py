"""Files and databases: the output tables (staged, all-or-nothing), the pilot plan's files,
data quality reports, PostGIS export and input downloads.
"""
