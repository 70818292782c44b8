"""Configuration: the TOML file as frozen pydantic models, validated at load; Table 1 defaults."""
