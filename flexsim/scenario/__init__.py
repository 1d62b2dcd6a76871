"""The scenario: the validated model, the product catalogue, and the YAML loader."""
