"""flexsim: Monte Carlo forecasts for Autodesk Flex token pools."""

__version__ = "0.1.0"
