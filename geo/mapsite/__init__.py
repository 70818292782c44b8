"""The offline HTML map site: page data, pages, labels (Indonesian first), figures and bundled
assets.
"""
