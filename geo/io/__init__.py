"""Files and databases: the output tables (staged, all-or-nothing), data quality reports,
PostGIS export and input downloads.
"""
